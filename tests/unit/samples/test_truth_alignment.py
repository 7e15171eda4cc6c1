"""Ground-truth boxes line up with the PDF text layer: pdfium reads exactly the raw value inside each box."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pypdfium2 as pdfium

from tests.unit.samples.conftest import load_truths


def _norm(text: str) -> str:
    return " ".join(text.replace("\r", " ").replace("\n", " ").split())


def _boxes(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The pieces to check: each line of a multi-line value, or the value's own box."""
    return entry.get("pieces") or [{"page": entry["page"], "bbox": entry["bbox"], "text": entry["raw"]}]


def _check_doc(out: Path, truth: dict[str, Any]) -> int:
    pdf = pdfium.PdfDocument(out / "documents" / f"{truth['doc_id']}.pdf")
    checked = 0
    try:
        pages = {}

        def read(page_index: int, bbox: list[float]) -> str:
            if page_index not in pages:
                page = pdf[page_index]
                pages[page_index] = (page, page.get_textpage(), page.get_height())
            _, textpage, height = pages[page_index]
            x0, y0, x1, y1 = bbox
            return _norm(textpage.get_text_bounded(left=x0, bottom=height - y1, right=x1, top=height - y0))

        values = list(truth["fields"].items())
        values += [
            (f"line_items.{i}.{col}", e)
            for i, item in enumerate(truth["line_items"])
            for col, e in item.items()
        ]
        for name, entry in values:
            if not entry["present"]:
                continue
            for piece in _boxes(entry):
                got = read(piece["page"], piece["bbox"])
                if entry.get("embedded_in"):
                    assert piece["text"] not in ("",) and entry["raw"] in got, (truth["doc_id"], name, got)
                else:
                    assert got == _norm(piece["text"]), (truth["doc_id"], name, got, piece["text"])
                checked += 1
            for other in entry.get("other_occurrences", []):
                assert read(other["page"], other["bbox"]) == _norm(other["text"]), (truth["doc_id"], name)
        for run in truth["runs"][:: max(1, len(truth["runs"]) // 15)]:
            assert read(run["page"], run["bbox"]) == _norm(run["text"]), (truth["doc_id"], run)
    finally:
        for page, textpage, _ in pages.values():
            textpage.close()
            page.close()
        pdf.close()
    return checked


def test_invoice_boxes_contain_exactly_the_raw_values(invoice_set: Path) -> None:
    truths = load_truths(invoice_set)
    checked = sum(_check_doc(invoice_set, t) for t in truths[:30])
    assert checked > 30 * 15


def test_receipt_boxes_contain_exactly_the_raw_values(receipt_set: Path) -> None:
    assert sum(_check_doc(receipt_set, t) for t in load_truths(receipt_set)[:15]) > 15 * 5


def test_po_change_boxes(po_change_set: Path) -> None:
    assert sum(_check_doc(po_change_set, t) for t in load_truths(po_change_set)) > 10 * 3


def test_raw_and_canonical_agree_for_amounts_and_dates(invoice_set: Path) -> None:
    """The raw string, read back with the document's locale conventions, gives the canonical value."""
    from decimal import Decimal

    for truth in load_truths(invoice_set):
        total = truth["fields"]["total"]
        digits = "".join(ch for ch in total["raw"] if ch.isdigit())
        canonical = Decimal(total["value"])
        assert digits.lstrip("0") == str(abs(canonical)).replace(".", "").lstrip("0"), (
            truth["doc_id"],
            total,
        )
        assert (canonical < 0) == ("-" in total["raw"] or "(" in total["raw"]), truth["doc_id"]
        date = truth["fields"]["invoice_date"]
        year = date["value"][:4]
        assert year in date["raw"]
