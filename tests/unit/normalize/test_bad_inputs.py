"""Every bad input named in issue 6, end to end through the normalize stage: each gives a typed result
with a note (or a documented reason), never an exception trace and never a silent wrong value."""

import pytest

from pipeline.contracts import NormalizedDocument
from pipeline.normalize.config import NormalizeConfig
from pipeline.normalize.stage import make_stage
from pipeline.runtime import LocalRunner
from pipeline.topics import NORMALIZED
from tests.unit.normalize.factories import ACME, TWIN_A, TWIN_B, acme_invoice, extraction, ref
from tests.unit.normalize.test_stage import envelope


def normalize(ex, snapshot=None) -> NormalizedDocument:  # type: ignore[no-untyped-def]
    out = LocalRunner(make_stage(lambda: snapshot or ref(), NormalizeConfig())).run([envelope(ex)])
    assert not out.dead_letters
    [event] = out.on(NORMALIZED)
    return NormalizedDocument.model_validate(event.payload.model_dump())


@pytest.mark.parametrize(
    ("raw", "value", "note"),
    [
        ("1.234,56", "1234.56", None),
        ("1,234.56", "1234.56", None),
        ("(12.00)", "-12.00", "parentheses"),
        ("12-", "-12.00", "trailing minus"),
        ("USD 1 234,56", None, "mixed currencies"),  # USD amount on a EUR invoice: flagged, currency dropped
    ],
)
def test_amounts(raw: str, value: str | None, note: str | None) -> None:
    doc = normalize(acme_invoice(total=raw))
    f = doc.fields["total"]
    if value is not None:
        assert f.valid and f.value == value
    if note == "mixed currencies":
        assert f.value == "1234.56" and doc.currency is None
        assert any(note in n for n in doc.fields["currency"].notes)
    elif note:
        assert any(note in n for n in f.notes)


def test_usd_amount_on_usd_document_is_fine() -> None:
    doc = normalize(
        extraction(
            vendor="Globex",
            invoice_number="1",
            invoice_date="11/20/2026",
            currency="USD",
            total="USD 1 234,56",
        )
    )
    assert doc.fields["total"].value == "1234.56" and doc.currency == "USD"


@pytest.mark.parametrize(
    ("raw", "note"),
    [
        ("03/04/05", "ambiguous"),
        ("31/02/2024", "impossible"),
        ("yesterday", "relative date"),
    ],
)
def test_dates_without_locale(raw: str, note: str) -> None:
    doc = normalize(extraction(vendor="Unknown GmbH", invoice_number="1", invoice_date=raw, total="1.00"))
    f = doc.fields["invoice_date"]
    assert not f.valid and f.value is None and note in f.notes[0] and f.raw == raw


def test_mixed_currencies_in_one_document() -> None:
    doc = normalize(acme_invoice(subtotal="USD 330.00", tax="62,70 €"))
    assert doc.currency is None and not doc.fields["currency"].valid
    assert "mixed currencies in one document: EUR, USD" in doc.fields["currency"].notes[-1]


def test_tax_id_with_wrong_checksum() -> None:
    f = normalize(acme_invoice(vendor_tax_id="DE136695977")).fields["vendor_tax_id"]
    assert not f.valid and f.value is None and "check digit is wrong" in f.notes[0]


def test_vendor_matching_two_master_records() -> None:
    doc = normalize(
        extraction(vendor="Northwind Traders", invoice_number="1", invoice_date="2026-11-01", total="1.00"),
        ref(TWIN_A, TWIN_B, ACME),
    )
    assert doc.vendor is not None and doc.vendor.ambiguous and doc.vendor.vendor_id is None
    assert sorted(c[0] for c in doc.vendor.candidates) == ["V010", "V011"]
