"""The text view reproduces every value at its span, in reading order (training data without OCR)."""

from __future__ import annotations

from pathlib import Path

from pipeline.samples.textview import document_text
from tests.unit.samples.conftest import load_truths


def test_spans_point_at_the_raw_values(invoice_set: Path, receipt_set: Path, po_change_set: Path) -> None:
    checked = 0
    for truth in (
        load_truths(invoice_set)[:20] + load_truths(receipt_set)[:10] + load_truths(po_change_set)[:3]
    ):
        view = document_text(truth)
        for name, entry in truth["fields"].items():
            if not entry["present"] or entry.get("embedded_in"):
                continue
            pieces = entry.get("pieces") or [{"text": entry["raw"]}]
            assert [view.text[a:b] for a, b in view.spans[name]] == [p["text"] for p in pieces], name
            checked += 1
        for i, item in enumerate(truth["line_items"]):
            a, b = view.spans[f"line_items.{i}.amount"][0]
            assert view.text[a:b] == item["amount"]["raw"]
    assert checked > 200


def test_reading_order_keeps_label_and_value_on_one_line(invoice_set: Path) -> None:
    for truth in load_truths(invoice_set)[:14]:
        view = document_text(truth)
        total = truth["fields"]["total"]
        a, _ = view.spans["total"][0]
        line = next(ln for ln in view.lines if ln.start <= a < ln.start + len(ln.text) + 1)
        assert total["raw"] in line.text
        assert len(line.text) > len(total["raw"])  # the label shares the row
        assert view.text.count("\f") == len(truth["pages"]) - 1
