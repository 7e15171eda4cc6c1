"""Variety and hard cases: every layout, locale and font is used; hard cases occur and are what they claim."""

from __future__ import annotations

from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from pipeline.samples.layout_invoice import INVOICE_LAYOUT_IDS, INVOICE_LAYOUTS
from pipeline.samples.layout_receipt import RECEIPT_LAYOUT_IDS
from tests.unit.samples.conftest import load_truths


def test_all_invoice_layouts_locales_and_fonts_exercised(invoice_set: Path) -> None:
    truths = load_truths(invoice_set)
    assert len(INVOICE_LAYOUT_IDS) >= 12
    assert {t["layout"] for t in truths} == set(INVOICE_LAYOUT_IDS)
    assert {t["locale"] for t in truths} == {"en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "nl-NL"}
    assert {t["extras"]["font_family"] for t in truths} == {"Helvetica", "Times", "Courier"}
    assert len({(lay.header, lay.table, lay.totals) for lay in INVOICE_LAYOUTS}) >= 12


def test_receipt_layouts_exercised(receipt_set: Path) -> None:
    assert {t["layout"] for t in load_truths(receipt_set)} == set(RECEIPT_LAYOUT_IDS)


def test_long_layouts_are_multi_page_with_carried_totals(invoice_set: Path) -> None:
    long_ids = {lay.id for lay in INVOICE_LAYOUTS if lay.long}
    for truth in load_truths(invoice_set):
        if truth["layout"] not in long_ids or truth["extras"]["duplicate_of"]:
            continue  # a duplicate re-prints an earlier (possibly short) invoice in this layout
        assert len(truth["pages"]) >= 2
        assert "multi_page" in truth["hard_cases"]
        carried = [k for k in truth["other_values"] if k.startswith("carried_forward.")]
        brought = [k for k in truth["other_values"] if k.startswith("brought_forward.")]
        assert carried and len(carried) == len(brought)
        assert truth["fields"]["total"]["page"] == len(truth["pages"]) - 1 or len(truth["pages"]) > 1
        # the carried amount on page 0 is the sum of the line items printed on page 0
        page0 = [Decimal(i["amount"]["value"]) for i in truth["line_items"] if i["amount"]["page"] == 0]
        assert truth["other_values"]["carried_forward.0"][0]["page"] == 0
        assert sum(page0) > 0 or truth["extras"]["is_credit_note"]


def test_invoice_arithmetic(invoice_set: Path) -> None:
    for t in load_truths(invoice_set):
        f, x = t["fields"], t["extras"]
        lines = sum(Decimal(i["amount"]["value"]) for i in t["line_items"])
        assert lines == Decimal(x["lines_total"]), t["doc_id"]
        assert Decimal(x["lines_total"]) - Decimal(x["discount"]) == Decimal(f["subtotal"]["value"])
        assert Decimal(f["subtotal"]["value"]) + Decimal(f["tax"]["value"]) == Decimal(f["total"]["value"])
        assert sum(Decimal(b["tax"]) for b in x["tax_breakdown"]) == Decimal(f["tax"]["value"])
        for item in t["line_items"]:
            qty, price = Decimal(item["quantity"]["value"]), Decimal(item["unit_price"]["value"])
            amount = Decimal(item["amount"]["value"])
            assert abs(amount) == (qty * price).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), t["doc_id"]


def test_hard_cases_occur(invoice_set: Path, receipt_set: Path) -> None:
    inv = Counter(h for t in load_truths(invoice_set) for h in t["hard_cases"])
    for tag in (
        "total_not_largest",
        "handwritten_annotation",
        "multi_page",
        "discount",
        "multiple_tax_rates",
        "po_partial",
        "po_unknown_po",
    ):
        assert inv[tag] > 0, (tag, inv)
    rec = Counter(h for t in load_truths(receipt_set) for h in t["hard_cases"])
    assert rec["cash_tendered_change"] > 0


def _amount_values(truth: dict) -> list[Decimal]:
    out = []
    for entries in truth["other_values"].values():
        for e in entries:
            digits = "".join(ch for ch in e["text"] if ch.isdigit())
            if digits:
                out.append(Decimal(digits) / 100)
    return out


def test_total_not_largest_is_true(invoice_set: Path, receipt_set: Path) -> None:
    seen = 0
    for truth in load_truths(invoice_set) + load_truths(receipt_set):
        if "total_not_largest" in truth["hard_cases"]:
            total = abs(Decimal(truth["fields"]["total"]["value"]))
            assert max(_amount_values(truth)) > total, truth["doc_id"]
            seen += 1
    assert seen > 0


def test_annotations_are_images_not_text(invoice_set: Path) -> None:
    for truth in load_truths(invoice_set):
        if "handwritten_annotation" in truth["hard_cases"]:
            note = truth["annotations"][0]["text"]
            assert all(note != run["text"] for run in truth["runs"])


def test_receipt_cash_and_change(receipt_set: Path) -> None:
    for t in load_truths(receipt_set):
        if "cash_tendered_change" in t["hard_cases"]:
            x = t["extras"]
            assert Decimal(x["cash_tendered"]) - Decimal(x["change"]) == Decimal(
                t["fields"]["total"]["value"]
            )
            assert Decimal(x["cash_tendered"]) > Decimal(t["fields"]["total"]["value"])
