from decimal import Decimal

from pipeline.contracts import DocKind
from pipeline.normalize.config import NormalizeConfig
from pipeline.normalize.document import normalize_extraction
from tests.unit.normalize.factories import ACME, TWIN_A, TWIN_B, acme_invoice, extraction, ref

CFG = NormalizeConfig()


def test_invoice_normalized_with_vendor_locale() -> None:
    doc = normalize_extraction(acme_invoice(invoice_date="03/04/2026"), ref(), CFG)
    assert doc.vendor is not None and doc.vendor.vendor_id == "V001" and doc.vendor.method == "tax_id"
    assert doc.locale == "de_DE" and doc.currency == "EUR"
    assert doc.fields["invoice_date"].value == "2026-04-03"  # day first: German vendor
    assert doc.fields["total"].value == "392.70" and doc.fields["total"].raw == "392,70"
    assert doc.fields["iban"].value == "DE89370400440532013000"
    assert doc.line_items[0].quantity == Decimal(100) and doc.line_items[1].unit_price == Decimal("0.40")
    assert all(f.valid for f in doc.fields.values())


def test_unknown_vendor_without_locale_flags_ambiguous_date() -> None:
    ex = extraction(
        vendor="Nobody GmbH", invoice_number="1", invoice_date="03/04/05", total="10.00", currency="EUR"
    )
    doc = normalize_extraction(ex, ref(), CFG)
    f = doc.fields["invoice_date"]
    assert not f.valid and f.value is None and "ambiguous" in f.notes[0]
    assert doc.vendor is not None and doc.vendor.vendor_id is None


def test_default_locale_settles_dates_for_unknown_vendors() -> None:
    ex = extraction(DocKind.receipt, merchant="Some Shop", date="03/04/2018", total="RM 9.00")
    doc = normalize_extraction(ex, ref(), NormalizeConfig(default_locale="en_MY"))
    assert doc.fields["date"].value == "2018-04-03" and doc.currency == "MYR"
    assert doc.fields["currency"].raw is None and "locale" in doc.fields["currency"].notes[0]


def test_mixed_currencies_in_one_document() -> None:
    doc = normalize_extraction(acme_invoice(total="USD 392.70"), ref(), CFG)
    cur = doc.fields["currency"]
    assert doc.currency is None and not cur.valid
    assert any("mixed currencies" in n for n in cur.notes)
    assert any("USD" in n for n in doc.fields["total"].notes)


def test_currency_taken_from_amount_symbol() -> None:
    ex = extraction(DocKind.receipt, merchant="Shop", date="2018-05-01", total="€ 12,50")
    doc = normalize_extraction(ex, ref(), CFG)
    assert doc.currency == "EUR" and doc.fields["total"].value == "12.50"


def test_wrong_checksum_tax_id_is_invalid_and_does_not_match() -> None:
    doc = normalize_extraction(
        acme_invoice(vendor_tax_id="DE136695977", vendor="Someone Else", iban=None), ref(), CFG
    )
    assert not doc.fields["vendor_tax_id"].valid and "check digit" in doc.fields["vendor_tax_id"].notes[0]
    assert doc.vendor is not None and doc.vendor.vendor_id is None


def test_vendor_matching_two_records_is_ambiguous() -> None:
    ex = extraction(vendor="Northwind Traders", invoice_number="9", invoice_date="2026-11-01", total="5.00")
    doc = normalize_extraction(ex, ref(TWIN_A, TWIN_B, ACME), CFG)
    assert doc.vendor is not None and doc.vendor.ambiguous and doc.vendor.vendor_id is None
    assert doc.locale is None


def test_absent_fields_and_ungrounded_values() -> None:
    ex = acme_invoice(po_number=None)
    ex.fields["buyer"].grounded = False
    doc = normalize_extraction(ex, ref(), CFG)
    assert doc.fields["po_number"].value is None and doc.fields["po_number"].valid
    assert any("verbatim" in n for n in doc.fields["buyer"].notes)


def test_po_change_document() -> None:
    structured = {
        "document_type": "po_change",
        "po_number": "PO-1001",
        "change_number": "2",
        "vendor_id": "V001",
        "currency": "EUR",
        "issued": "2026-11-10",
        "lines": [{"line_no": 1, "action": "change", "need_by_date": "2026-11-30"}],
    }
    doc = normalize_extraction(extraction(DocKind.po_change, structured=structured), ref(), CFG)
    assert doc.po_change is not None and doc.po_change.max_lead_time_impact_days == 10
    assert doc.vendor is not None and doc.vendor.vendor_id == "V001" and doc.vendor.method == "vendor_id"
    assert doc.fields["po_number"].valid and doc.fields["changed_lines"].value == "1"
    assert doc.currency == "EUR"


def test_po_change_for_unknown_po_and_bad_lines() -> None:
    unknown = {"po_number": "PO-9999", "change_number": "1", "lines": []}
    doc = normalize_extraction(extraction(DocKind.po_change, structured=unknown), ref(), CFG)
    assert doc.po_change is None and not doc.fields["po_number"].valid
    bad = {"po_number": "PO-1001", "change_number": "1", "lines": [{"line_no": 7, "action": "remove"}]}
    doc = normalize_extraction(extraction(DocKind.po_change, structured=bad), ref(), CFG)
    assert doc.po_change is None and not doc.fields["changed_lines"].valid
    assert "does not exist" in doc.fields["changed_lines"].notes[0]


def test_same_input_same_output() -> None:
    a = normalize_extraction(acme_invoice(), ref(), CFG).model_dump_json()
    b = normalize_extraction(acme_invoice(), ref(), CFG).model_dump_json()
    assert a == b


def test_po_change_without_structured_payload() -> None:
    doc = normalize_extraction(extraction(DocKind.po_change), ref(), CFG)
    assert doc.po_change is None and doc.fields["po_number"].notes == ["no PO number in the PO change"]


def test_unreadable_currency_field_is_not_overridden_by_amount_symbols() -> None:
    ex = extraction(DocKind.receipt, merchant="Shop", date="2018-05-01", currency="XYZ", total="€ 12,50")
    doc = normalize_extraction(ex, ref(), CFG)
    assert not doc.fields["currency"].valid and doc.fields["currency"].raw == "XYZ"


def test_date_order_proven_by_another_date_on_the_document() -> None:
    ex = extraction(
        vendor="Unknown GmbH",
        invoice_number="1",
        invoice_date="03/04/2026",
        due_date="25/04/2026",
        total="1.00",
    )
    doc = normalize_extraction(ex, ref(), CFG)
    f = doc.fields["invoice_date"]
    assert f.valid and f.value == "2026-04-03" and "another date on this document" in f.notes[0]
    contradicting = extraction(
        vendor="Unknown GmbH",
        invoice_number="1",
        invoice_date="03/04/2026",
        due_date="25/04/2026",
        date="04/25/2026",
        total="1.00",
    )
    doc = normalize_extraction(contradicting, ref(), CFG)
    assert not doc.fields["invoice_date"].valid  # DMY and MDY evidence disagree: still flagged
