"""Plain-text view of a ground truth: the document as reading-order lines, with character spans for
every field value and line-item cell.

Extractive training (issue 5) needs "context + answer span"; this derives both from the truth's text runs
without running OCR, so generated documents can be used as training data directly. Lines are formed
from runs whose vertical extents overlap (same visual row), left to right; pages are separated by a
form feed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TextLine:
    page: int
    bbox: tuple[float, float, float, float]
    text: str
    start: int  # offset of the line in DocText.text
    runs: list[int]  # indices into truth["runs"]


@dataclass
class DocText:
    text: str
    lines: list[TextLine]
    spans: dict[str, list[tuple[int, int]]] = field(
        default_factory=dict
    )  # field -> spans of its primary value


def _same_row(a: list[float], b: list[float]) -> bool:
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    return overlap > 0.5 * min(a[3] - a[1], b[3] - b[1])


def document_text(truth: dict[str, Any]) -> DocText:
    runs = truth["runs"]
    order = sorted(range(len(runs)), key=lambda i: (runs[i]["page"], runs[i]["bbox"][1], runs[i]["bbox"][0]))
    rows: list[list[int]] = []
    for i in order:
        run = runs[i]
        if rows:
            last = runs[rows[-1][0]]
            if last["page"] == run["page"] and any(_same_row(runs[j]["bbox"], run["bbox"]) for j in rows[-1]):
                rows[-1].append(i)
                continue
        rows.append([i])
    parts: list[str] = []
    lines: list[TextLine] = []
    run_offset: dict[int, int] = {}
    pos = 0
    prev_page = None
    for row in rows:
        row.sort(key=lambda j: runs[j]["bbox"][0])
        page = runs[row[0]]["page"]
        if prev_page is not None:
            sep = "\f" if page != prev_page else "\n"
            parts.append(sep)
            pos += 1
        prev_page = page
        start = pos
        texts = []
        for k, j in enumerate(row):
            if k:
                texts.append(" ")
                pos += 1
            run_offset[j] = pos
            texts.append(runs[j]["text"])
            pos += len(runs[j]["text"])
        line_text = "".join(texts)
        parts.append(line_text)
        boxes = [runs[j]["bbox"] for j in row]
        bbox = (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
        lines.append(TextLine(page, bbox, line_text, start, row))
    doc = DocText("".join(parts), lines)
    by_box = {(r["page"], tuple(r["bbox"]), r["text"]): i for i, r in enumerate(runs)}

    def spans_of(entry: dict[str, Any]) -> list[tuple[int, int]]:
        pieces = entry.get("pieces") or [{"page": entry["page"], "bbox": entry["bbox"], "text": entry["raw"]}]
        out = []
        for piece in pieces:
            j = by_box.get((piece["page"], tuple(piece["bbox"]), piece["text"]))
            if j is not None:
                out.append((run_offset[j], run_offset[j] + len(piece["text"])))
        return out

    for name, entry in truth["fields"].items():
        if entry.get("present") and not entry.get("embedded_in") and isinstance(entry.get("raw"), str):
            found = spans_of(entry)
            if found:
                doc.spans[name] = found
    for i, item in enumerate(truth.get("line_items", [])):
        for col, entry in item.items():
            if entry.get("present"):
                found = spans_of(entry)
                if found:
                    doc.spans[f"line_items.{i}.{col}"] = found
    return doc
