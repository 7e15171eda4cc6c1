"""Validators for reviewer edits: raw text in, canonical string (as the normalizer writes it) out.

ISOLATED ON PURPOSE: pipeline.normalize (the pipeline's own validators) is not on this branch yet.
`validate_field` is the single seam the web app calls; the lead rewires its body to the
pipeline.normalize functions so reviewer edits and machine output pass the very same checks.
Canonical forms follow NormalizedField: ISO dates, plain Decimal strings, ISO 4217, compact ids.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from babel.numbers import list_currencies
from stdnum import iban as stdnum_iban
from stdnum.eu import vat as eu_vat

MAX_TEXT = 500
MAX_AMOUNT = Decimal("1e13")

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
    "change_number": "po_number",
}

EDITABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "receipt": ("merchant", "merchant_address", "date", "total", "tax", "currency"),
    "invoice": (
        "vendor",
        "vendor_tax_id",
        "invoice_number",
        "invoice_date",
        "due_date",
        "po_number",
        "currency",
        "subtotal",
        "tax",
        "total",
        "iban",
        "buyer",
    ),
    "po_change": ("po_number", "change_number"),
}

_CURRENCIES = frozenset(list_currencies())
_AMOUNT_PATTERNS = (
    (re.compile(r"^-?\d+(\.\d+)?$"), "", "."),
    (re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$"), ",", "."),
    (re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$"), ".", ","),
    (re.compile(r"^-?\d+,\d{1,2}$"), "", ","),
)
_DMY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_PO = re.compile(r"^[A-Z0-9][A-Z0-9\-/_.]{0,39}$")
_TAX = re.compile(r"^[A-Z0-9]{4,20}$")
_EU_VAT = re.compile(r"^(AT|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK)\d")


class FieldValidationError(ValueError):
    """A reviewer's value is not acceptable; the message is shown next to the field."""


def _text(raw: str) -> str:
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t" for ch in raw):
        raise FieldValidationError("contains control characters")
    if len(raw) > MAX_TEXT:
        raise FieldValidationError(f"is longer than {MAX_TEXT} characters")
    return raw


def _date(raw: str) -> str:
    m = _DMY.match(raw)
    try:
        d = date(int(m[3]), int(m[2]), int(m[1])) if m else date.fromisoformat(raw)
    except ValueError:
        raise FieldValidationError("is not a valid date (use YYYY-MM-DD or DD.MM.YYYY)") from None
    if not 1990 <= d.year <= 2100:
        raise FieldValidationError("has an implausible year")
    return d.isoformat()


def _amount(raw: str) -> str:
    text = raw.replace(" ", "").replace("\u00a0", "")
    for pattern, thousands, decimal in _AMOUNT_PATTERNS:
        if pattern.match(text):
            text = text.replace(thousands, "") if thousands else text
            text = text.replace(decimal, ".")
            break
    else:
        raise FieldValidationError("is not an amount (e.g. 1234.50 or 1,234.50)")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FieldValidationError("is not an amount") from None
    if abs(value) >= MAX_AMOUNT:
        raise FieldValidationError("is implausibly large")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        raise FieldValidationError("has more than 4 decimals")
    return (
        str(value.quantize(Decimal("0.01"))) if isinstance(exponent, int) and exponent >= -2 else str(value)
    )


def _currency(raw: str) -> str:
    code = raw.upper()
    if code not in _CURRENCIES:
        raise FieldValidationError("is not an ISO 4217 currency code (e.g. EUR)")
    return code


def _iban(raw: str) -> str:
    try:
        return str(stdnum_iban.validate(raw))
    except Exception:
        raise FieldValidationError("is not a valid IBAN (checksum or length wrong)") from None


def _tax_id(raw: str) -> str:
    compact = re.sub(r"[\s.\-/]", "", raw).upper()
    if not _TAX.match(compact):
        raise FieldValidationError("is not a tax id (4-20 letters and digits)")
    if _EU_VAT.match(compact) and not eu_vat.is_valid(compact):
        raise FieldValidationError("is not a valid EU VAT number (checksum)")
    return compact


def _po(raw: str) -> str:
    code = raw.upper()
    if not _PO.match(code):
        raise FieldValidationError("is not a PO number (letters, digits, - / _ .)")
    return code


_VALIDATORS = {
    "date": _date,
    "amount": _amount,
    "currency": _currency,
    "iban": _iban,
    "tax_id": _tax_id,
    "po_number": _po,
    "text": _text,
}


def field_type(name: str) -> str:
    return FIELD_TYPES.get(name, "text")


def validate_field(name: str, raw: str) -> str | None:
    """Canonical value for a reviewer's input; '' clears the field (None). Raises FieldValidationError."""
    text = raw.strip()
    if text == "":
        return None
    _text(text)
    return _VALIDATORS[field_type(name)](text)
