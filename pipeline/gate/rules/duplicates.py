"""Duplicate invoices: the same vendor with the same invoice number, or the same amount and date.

The candidates come from the gate's claims (pipeline.refdata.claims): documents that own one of this
document's duplicate keys. Invoice numbers compare on letters and digits ('INV-001' = 'inv 001')."""

from __future__ import annotations

from pipeline.contracts import DocKind, Severity
from pipeline.gate.context import GateContext
from pipeline.gate.rules.base import Check, Params, Rule, not_applicable
from pipeline.refdata.claims import invoice_number_key


def _duplicates(ctx: GateContext, p: Params) -> Check:
    if ctx.doc.vendor is None or ctx.doc.vendor.vendor_id is None:
        return not_applicable("no vendor matched, so no vendor history to compare with")
    number, amount, when = ctx.invoice_number, ctx.amount("total"), ctx.doc_date
    hits = []
    for d in ctx.duplicates:
        if d.document_id == ctx.document_id:
            continue
        if number and d.invoice_number and invoice_number_key(d.invoice_number) == invoice_number_key(number):
            hits.append((d, f"same invoice number {number}"))
        elif amount is not None and when is not None and d.amount == amount and d.doc_date == when:
            hits.append((d, f"same amount {amount} and date {when}"))
    if hits:
        text = "; ".join(f"document {d.document_id[:12]}… ({why})" for d, why in hits[:5])
        return Check(
            False,
            f"Possible duplicate of {len(hits)} earlier document(s) from this vendor: {text}.",
            ("invoice_number", "total"),
            {"documents": [d.document_id for d, _ in hits]},
        )
    return Check(
        True, "No earlier document from this vendor has the same number, or the same amount and date."
    )


RULES = [
    Rule(
        "duplicates.invoice",
        "Not a duplicate (same vendor + number, or same vendor + amount + date).",
        Severity.review,
        _duplicates,
        frozenset({DocKind.invoice, DocKind.receipt}),
    ),
]
