"""Invoice vs receipt from the text when neither the publisher nor OCR said which (deterministic).

Keyword evidence with weights; Malaysian-style receipts say "TAX INVOICE", so the bare word
INVOICE is weak evidence and payment/terms vocabulary decides.
"""

from __future__ import annotations

import re

from pipeline.contracts import DocKind

_INVOICE = [
    (r"\bINVOICE\s*(NO|NUMBER|#|NR)\b", 2.0),
    (r"\bDUE\s*DATE\b", 2.0),
    (r"\bBILL(ED)?\s*TO\b", 2.0),
    (r"\bIBAN\b", 2.0),
    (r"\bPAYMENT\s*TERMS?\b", 2.0),
    (r"\bP\.?O\.?\s*(NO|NUMBER|#)\b", 1.5),
    (r"\bPURCHASE\s*ORDER\b", 1.5),
    (r"\bNET\s*\d{2}\b", 1.0),
    (r"\bSUBTOTAL\b", 0.5),
    (r"\bVAT\b", 0.5),
    (r"\bRECHNUNG\b|\bFACTURE\b|\bFATTURA\b|\bFACTURA\b|\bFACTUUR\b", 2.0),
    (r"\bINVOICE\b", 0.5),
    (r"\bSWIFT|BIC\b", 1.0),
    (r"\bREMIT\b", 1.0),
]
_RECEIPT = [
    (r"\bCASH\b", 1.5),
    (r"\bCHANGE\b", 1.5),
    (r"\bRECEIPT\b", 2.0),
    (r"\bTHANK\s*YOU\b", 1.0),
    (r"\bCASHIER\b", 1.5),
    (r"\bTENDER(ED)?\b", 1.5),
    (r"\bROUNDING\b", 1.0),
    (r"\bVISA|MASTERCARD\b", 0.5),
    (r"\bTAX\s*INVOICE\b", 1.0),
    (r"\bSIMPLIFIED\b", 1.0),
    (r"\bQTY\b", 0.3),
    (r"\bKASSENBON|QUITTUNG\b", 2.0),
]


def classify_text(text: str) -> tuple[DocKind, float]:
    """(kind, margin): receipts win ties, since a receipt mistaken for an invoice asks wrong questions
    mostly about absent fields, which the model reports as absent."""
    up = text.upper()
    inv = sum(w for rx, w in _INVOICE if re.search(rx, up))
    rec = sum(w for rx, w in _RECEIPT if re.search(rx, up))
    if inv > rec:
        return DocKind.invoice, inv - rec
    return DocKind.receipt, rec - inv
