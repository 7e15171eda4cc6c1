from pipeline.contracts import BBox, Line
from pipeline.ocr.reading_order import assign_reading_order, group_rows


def _line(text: str, x0: float, y0: float, x1: float, y1: float) -> Line:
    return Line(text=text, bbox=BBox(x0=x0, y0=y0, x1=x1, y1=y1), confidence=0.9, order=0)


def test_receipt_rows_top_to_bottom_left_to_right() -> None:
    # detector output order is arbitrary; a slightly skewed scan puts the amount a few px lower
    lines = [
        _line("12.50", 400, 205, 460, 228),
        _line("SHOP NAME", 100, 10, 300, 40),
        _line("TOTAL", 20, 200, 90, 222),
        _line("Item A", 20, 100, 120, 120),
        _line("3.00", 410, 98, 460, 119),
        _line("Item B", 20, 130, 120, 150),
        _line("x2", 250, 131, 280, 150),
        _line("9.50", 410, 131, 460, 151),
    ]
    ordered = assign_reading_order(lines)
    assert [ln.text for ln in ordered] == [
        "SHOP NAME",
        "Item A",
        "3.00",
        "Item B",
        "x2",
        "9.50",
        "TOTAL",
        "12.50",
    ]
    assert [ln.order for ln in ordered] == list(range(8))
    assert [ln.row for ln in ordered] == [0, 1, 1, 2, 2, 2, 3, 3]


def test_stacked_lines_in_one_column_are_separate_rows() -> None:
    # touching lines (no gap) must not merge: they overlap vertically by far less than half a line
    rows = group_rows([(10, 0, 200, 20), (10, 18, 200, 38), (10, 36, 200, 56)])
    assert rows == [[0], [1], [2]]


def test_horizontally_overlapping_boxes_never_share_a_row() -> None:
    # two boxes in the same column with strong vertical overlap (duplicate detections) stay apart
    rows = group_rows([(10, 0, 200, 20), (20, 5, 190, 25)])
    assert len(rows) == 2


def test_empty_page() -> None:
    assert assign_reading_order([]) == []
