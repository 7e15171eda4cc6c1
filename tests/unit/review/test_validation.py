from __future__ import annotations

import pytest

from pipeline.review.validation import FieldValidationError, validate_field


@pytest.mark.parametrize(
    ("name", "raw", "expect"),
    [
        ("invoice_date", "2026-11-02", "2026-11-02"),
        ("invoice_date", "2.11.2026", "2026-11-02"),
        ("total", "1,234.5", "1234.50"),
        ("total", "1.234,56", "1234.56"),
        ("total", "99,9", "99.90"),
        ("total", " 42 ", "42.00"),
        ("currency", "eur", "EUR"),
        ("iban", "DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("vendor_tax_id", "DE 136 695 976", "DE136695976"),
        ("po_number", "po-7781", "PO-7781"),
        ("vendor", "  Acme <GmbH>  ", "Acme <GmbH>"),
        ("total", "", None),
    ],
)
def test_accepts_and_canonicalises(name: str, raw: str, expect: str | None) -> None:
    assert validate_field(name, raw) == expect


@pytest.mark.parametrize(
    ("name", "raw", "fragment"),
    [
        ("invoice_date", "2026-02-30", "not a valid date"),
        ("invoice_date", "yesterday", "not a valid date"),
        ("invoice_date", "1850-01-01", "implausible year"),
        ("total", "12.34.56", "not an amount"),
        ("total", "1e5", "not an amount"),
        ("total", "99999999999999", "implausibly large"),
        ("currency", "EURO", "ISO 4217"),
        ("iban", "DE89370400440532013001", "not a valid IBAN"),
        ("vendor_tax_id", "DE136695977", "EU VAT"),
        ("po_number", "PO 77<81>", "not a PO number"),
        ("vendor", "bad\x00name", "control characters"),
        ("vendor", "x" * 501, "longer than"),
    ],
)
def test_rejects_with_a_readable_reason(name: str, raw: str, fragment: str) -> None:
    with pytest.raises(FieldValidationError, match=fragment):
        validate_field(name, raw)
