"""Validators for reviewer edits: the pipeline's own normalizers (pipeline.normalize), so a value a
reviewer types passes exactly the checks machine output passes, and is stored in the same canonical
form (ISO dates, Decimal strings, ISO 4217 codes, compact ids, canonical PO numbers).
"""

from __future__ import annotations

import unicodedata

from pipeline.contracts.fieldnames import INVOICE_FIELDS, RECEIPT_FIELDS
from pipeline.normalize.amounts import parse_amount
from pipeline.normalize.currency import normalize_currency
from pipeline.normalize.dates import parse_date
from pipeline.normalize.ids import normalize_iban, normalize_tax_id
from pipeline.normalize.po import normalize_po_number

MAX_TEXT = 500

# value_type per known header field (COMMON.md field names); unknown names are text.
FIELD_TYPES: dict[str, str] = {
    "date": "date",
    "invoice_date": "date",
    "due_date": "date",
    "total": "amount",
    "tax": "amount",
    "subtotal": "amount",
    "currency": "currency",
    "vendor_tax_id": "tax_id",
    "iban": "iban",
    "po_number": "po_number",
}

EDITABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "receipt": RECEIPT_FIELDS,
    "invoice": INVOICE_FIELDS,
    "po_change": ("po_number", "change_number"),
}


class FieldValidationError(ValueError):
    """A reviewer's value is not acceptable; the message is shown next to the field."""


def _reason(notes: tuple[str, ...], fallback: str) -> str:
    return notes[0] if notes else fallback


def _check_text(raw: str) -> str:
    if any(unicodedata.category(ch) == "Cc" and ch != "\t" for ch in raw):
        raise FieldValidationError("contains control characters")
    if len(raw) > MAX_TEXT:
        raise FieldValidationError(f"is longer than {MAX_TEXT} characters")
    return raw


def field_type(name: str) -> str:
    return FIELD_TYPES.get(name, "text")


def validate_field(name: str, raw: str, *, locale: str | None = None, currency: str | None = None) -> str | None:
    """Canonical value for a reviewer's input; '' clears the field (None). Raises FieldValidationError.

    `locale` and `currency` are the document's (they settle e.g. day/month order and decimal commas)."""
    text = _check_text(raw.strip())
    if text == "":
        return None
    kind = field_type(name)
    if kind == "date":
        d = parse_date(text, locale)
        if not d.valid or d.iso is None:
            raise FieldValidationError(_reason(d.notes, "is not a date"))
        return d.iso
    if kind == "amount":
        a = parse_amount(text, locale, currency)
        if not a.valid or a.text is None:
            raise FieldValidationError(_reason(a.notes, "is not an amount"))
        return a.text
    if kind == "currency":
        c = normalize_currency(text)
        if not c.valid or c.code is None:
            raise FieldValidationError(_reason(c.notes, "is not a currency"))
        return c.code
    if kind == "iban":
        i = normalize_iban(text)
        if not i.valid or i.value is None:
            raise FieldValidationError(_reason(i.notes, "is not a valid IBAN"))
        return i.value
    if kind == "tax_id":
        t = normalize_tax_id(text)
        if not t.valid or t.value is None:
            raise FieldValidationError(_reason(t.notes, "is not a valid tax id"))
        return t.value
    if kind == "po_number":
        p = normalize_po_number(text)
        if not p.valid or p.value is None:
            raise FieldValidationError(_reason(p.notes, "is not a PO number"))
        return p.value
    return text
