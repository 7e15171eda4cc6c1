"""Reading order for receipts and invoices: rows top-to-bottom, left-to-right within a row.

Lines whose vertical extents overlap enough are one visual row (a table row, "TOTAL ... 12.50").
Pure function over boxes; works the same for text-layer and OCR lines.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.contracts import Line

ROW_OVERLAP = 0.5  # share of the smaller height two boxes must overlap vertically to share a row


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


def group_rows(boxes: Sequence[tuple[float, float, float, float]]) -> list[list[int]]:
    """Indexes of boxes (x0, y0, x1, y1) grouped into rows, rows top-to-bottom, members left-to-right."""
    by_center = sorted(range(len(boxes)), key=lambda i: ((boxes[i][1] + boxes[i][3]) / 2, boxes[i][0]))
    rows: list[list[int]] = []
    bands: list[tuple[float, float]] = []  # a row's band: its first member's vertical extent
    for i in by_center:
        x0, y0, x1, y1 = boxes[i]
        h = max(y1 - y0, 1e-6)
        placed = False
        # a skewed or tall line may belong to one of the last few rows, not only the last
        for r in range(len(rows) - 1, max(-1, len(rows) - 4), -1):
            b0, b1 = bands[r]
            if _overlap(y0, y1, b0, b1) >= ROW_OVERLAP * min(h, b1 - b0) and not any(
                _overlap(x0, x1, boxes[j][0], boxes[j][2]) > 0.5 * min(x1 - x0, boxes[j][2] - boxes[j][0])
                for j in rows[r]
            ):
                rows[r].append(i)
                placed = True
                break
        if not placed:
            rows.append([i])
            bands.append((y0, y1))
    for row in rows:
        row.sort(key=lambda j: boxes[j][0])
    # a row opened later may hold a line centred above an earlier row's: order rows by their top centre
    order = sorted(range(len(rows)), key=lambda r: min((boxes[j][1] + boxes[j][3]) / 2 for j in rows[r]))
    return [rows[r] for r in order]


def assign_reading_order(lines: Sequence[Line]) -> list[Line]:
    """Return the lines sorted in reading order with `order` and `row` filled in."""
    boxes = [(ln.bbox.x0, ln.bbox.y0, ln.bbox.x1, ln.bbox.y1) for ln in lines]
    out: list[Line] = []
    for row_index, row in enumerate(group_rows(boxes)):
        for i in row:
            out.append(lines[i].model_copy(update={"order": len(out), "row": row_index}))
    return out
