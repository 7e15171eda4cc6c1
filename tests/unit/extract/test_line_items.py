from __future__ import annotations

from pipeline.contracts import BBox, BlobRef, EngineInfo, Line, OcrResult, Page
from pipeline.extract.line_items import extract_line_items, group_rows

COLS = {"d": (50, 250), "q": (300, 340), "p": (380, 460), "a": (500, 570)}


def _line(text: str, col: str, y: float, order: int) -> Line:
    x0, x1 = COLS[col]
    return Line(text=text, bbox=BBox(x0=x0, y0=y, x1=x1, y1=y + 14), confidence=0.99, order=order)


def _invoice(rows: list[tuple[str, ...]], tail: list[tuple[str, str]]) -> OcrResult:
    lines: list[Line] = [
        Line(text="ACME GmbH", bbox=BBox(x0=50, y0=20, x1=200, y1=34), confidence=1, order=0)
    ]
    y = 100.0
    for cells in [("Description", "Qty", "Unit Price", "Amount"), *rows]:
        for col, text in zip("dqpa", cells, strict=False):
            if text:
                lines.append(_line(text, col, y + (2 if col == "a" else 0), len(lines)))
        y += 24
    for label, value in tail:
        lines.append(_line(label, "p", y, len(lines)))
        lines.append(_line(value, "a", y + 1, len(lines)))
        y += 24
    page = Page(index=0, width=600, height=800, dpi=72, source="ocr", lines=lines)
    return OcrResult(
        blob=BlobRef(uri="file:///x", sha256="a" * 64, size=1, media_type="application/pdf"),
        pages=[page],
        engine=EngineInfo(name="t", version="1"),
    )


def test_rows_group_by_vertical_position() -> None:
    ocr = _invoice([("Bolts", "10", "2.50", "25.00")], [])
    rows = group_rows(ocr.pages[0].lines)
    assert [len(r.lines) for r in rows] == [1, 4, 4]


def test_items_reconcile_with_arithmetic_and_subtotal() -> None:
    ocr = _invoice(
        [
            ("Bolts M8 zinc", "10", "2.50", "25.00"),
            ("Nuts M8", "100", "0.12", "12.00"),
            ("(packed in boxes of 50)",),
            ("Washers", "3", "1.99", "5.97"),
        ],
        [("Subtotal", "42.97"), ("VAT 19%", "8.16"), ("Total", "51.13")],
    )
    items, checks = extract_line_items(ocr, subtotal="42.97")
    assert [(i.description, i.quantity, i.unit_price, i.amount) for i in items] == [
        ("Bolts M8 zinc", "10", "2.50", "25.00"),
        ("Nuts M8 (packed in boxes of 50)", "100", "0.12", "12.00"),
        ("Washers", "3", "1.99", "5.97"),
    ]
    assert checks == {"rows": 3, "rows_reconciled": 3, "rows_failed": 0, "sum_matches": True}
    assert all(i.confidence > 0.9 for i in items)
    assert items[0].provenance[0].source_text == "Bolts M8 zinc"


def test_arithmetic_mismatch_is_flagged_with_low_confidence() -> None:
    ocr = _invoice([("Bolts", "10", "2.50", "52.00"), ("Nuts", "1", "1.00", "1.00")], [("Subtotal", "53.00")])
    items, checks = extract_line_items(ocr, subtotal="99.00")
    assert checks["rows_failed"] == 1 and checks["sum_matches"] is False
    assert items[0].confidence < 0.5 < items[1].confidence


def test_no_table_no_items() -> None:
    ocr = _invoice([], [])
    ocr.pages[0].lines = ocr.pages[0].lines[:1]
    assert extract_line_items(ocr) == (
        [],
        {"rows": 0, "rows_reconciled": 0, "rows_failed": 0, "sum_matches": None},
    )


def test_invoices_get_line_items_through_the_extractor(extractor) -> None:
    from pipeline.contracts import DocKind

    ocr = _invoice([("Bolts", "10", "2.50", "25.00"), ("Nuts", "4", "0.50", "2.00")], [("Subtotal", "27.00")])
    ocr.kind = DocKind.invoice
    res = extractor.extract(ocr)
    assert res.kind == DocKind.invoice and len(res.line_items) == 2
    assert set(res.fields) >= {"vendor", "invoice_number", "total", "iban"}
