"""Reviewer edits go through the pipeline's own normalizers (pipeline.normalize)."""

from __future__ import annotations

import pytest

from pipeline.review.validation import FieldValidationError, validate_field


@pytest.mark.parametrize(
    ("name", "raw", "locale", "expect"),
    [
        ("invoice_date", "2026-11-02", None, "2026-11-02"),
        ("invoice_date", "2.11.2026", "de_DE", "2026-11-02"),  # the document's locale settles day/month order
        ("total", "1,234.5", None, "1234.50"),
        ("total", "1.234,56", None, "1234.56"),
        ("total", " 42 ", None, "42.00"),
        ("currency", "eur", None, "EUR"),
        ("iban", "DE89 3704 0044 0532 0130 00", None, "DE89370400440532013000"),
        ("vendor_tax_id", "DE 136 695 976", None, "DE136695976"),
        ("po_number", "po-7781", None, "PO-7781"),
        ("vendor", "  Acme <GmbH>  ", None, "Acme <GmbH>"),
        ("total", "", None, None),
    ],
)
def test_accepts_and_canonicalises(name: str, raw: str, locale: str | None, expect: str | None) -> None:
    assert validate_field(name, raw, locale=locale) == expect


@pytest.mark.parametrize(
    ("name", "raw", "fragment"),
    [
        ("invoice_date", "2026-02-30", "impossible date"),
        ("invoice_date", "yesterday", "relative date"),
        ("invoice_date", "2.11.2026", "ambiguous date"),  # no locale: refused rather than guessed
        ("total", "12.34.56", "not digit grouping"),
        ("total", "1e5", "more than one number"),
        ("total", "99999999999999999999", "more than 18 integer digits"),
        ("iban", "DE89370400440532013001", "check digit"),
        ("vendor_tax_id", "DE136695977", "check digit"),
        ("po_number", "PO 77<81>", "does not match"),
        ("vendor", "bad\x00name", "control characters"),
        ("vendor", "x" * 501, "longer than"),
    ],
)
def test_rejects_with_a_readable_reason(name: str, raw: str, fragment: str) -> None:
    with pytest.raises(FieldValidationError, match=fragment):
        validate_field(name, raw)
