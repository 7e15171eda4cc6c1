"""Ground truth from the display list: raw + canonical value and the boxes of every value.

Boxes are [x0, y0, x1, y1] with a top-left origin in the page units the document states
(`pages[i].dpi`: 72 for born-digital PDFs, i.e. PDF points; the raster dpi for images). Raster
renderings transform every box with the same homography as the image (see `transform_truth`) and add
the exact quadrilateral as `polygon`.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import numpy as np

from pipeline.contracts.fieldnames import FIELDS_BY_KIND
from pipeline.samples.draw import DrawDoc, Handwriting, Text
from pipeline.samples.pdf import handwriting_box

TRUTH_VERSION = "1"



def _r(values: tuple[float, ...] | list[float]) -> list[float]:
    return [round(float(v), 2) for v in values]


def _union(boxes: list[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def tagged_occurrences(doc: DrawDoc) -> dict[str, list[dict[str, Any]]]:
    """tag -> occurrences, primary first; each has page, bbox (union of its pieces), text, pieces."""
    groups: dict[str, dict[int, list[Text]]] = defaultdict(lambda: defaultdict(list))
    for op in doc.texts():
        if op.tag:
            groups[op.tag][op.occurrence].append(op)
    out: dict[str, list[dict[str, Any]]] = {}
    for tag, occs in groups.items():
        entries = []
        for _, pieces in sorted(occs.items()):
            page = pieces[0].page
            same_page = [p for p in pieces if p.page == page]
            boxes = [p.bbox() for p in same_page]
            entries.append(
                {
                    "page": page,
                    "bbox": _r(_union(boxes)),
                    "text": "\n".join(p.text for p in same_page),
                    "pieces": [
                        {"page": page, "bbox": _r(b), "text": p.text}
                        for p, b in zip(same_page, boxes, strict=True)
                    ],
                }
            )
        out[tag] = entries
    return out


def field_entry(raw: str | None, value: Any, occurrences: list[dict[str, Any]] | None) -> dict[str, Any]:
    if raw is None or not occurrences:
        return {"raw": None, "value": None, "present": False}
    first = occurrences[0]
    entry: dict[str, Any] = {
        "raw": raw,
        "value": value,
        "present": True,
        "page": first["page"],
        "bbox": first["bbox"],
    }
    if len(first["pieces"]) > 1:
        entry["pieces"] = first["pieces"]
    if len(occurrences) > 1:
        entry["other_occurrences"] = [
            {"page": o["page"], "bbox": o["bbox"], "text": o["text"]} for o in occurrences[1:]
        ]
    return entry


def runs(doc: DrawDoc) -> list[dict[str, Any]]:
    """Every text run in drawing order: what an ideal OCR would read (for training without OCR)."""
    return [{"page": op.page, "bbox": _r(op.bbox()), "text": op.text} for op in doc.texts()]


def annotation_entries(doc: DrawDoc) -> list[dict[str, Any]]:
    return [
        {"page": op.page, "bbox": _r(handwriting_box(op)), "text": op.text, "kind": "handwriting"}
        for op in doc.ops
        if isinstance(op, Handwriting)
    ]


def build_truth(
    *,
    kind: str,
    doc_id: str,
    layout: str,
    locale: str,
    doc: DrawDoc,
    fields: dict[str, tuple[str | None, Any]],
    fallback: dict[str, str] | None = None,
    line_items: list[dict[str, tuple[str, str]]] | None = None,
    hard_cases: list[str] | None = None,
    extras: dict[str, Any] | None = None,
) -> dict[str, Any]:
    occ = tagged_occurrences(doc)
    fallback = fallback or {}
    out_fields: dict[str, Any] = {}
    for name in FIELDS_BY_KIND[kind]:
        if name not in fields:
            continue
        raw, value = fields[name]
        found = occ.get(name)
        if not found and name in fallback and raw is not None:
            # The value is printed inside another value's text (e.g. "€" inside the total).
            found = occ.get(fallback[name])
            entry = field_entry(raw, value, found)
            if entry["present"]:
                entry["embedded_in"] = fallback[name]
            out_fields[name] = entry
            continue
        out_fields[name] = field_entry(raw, value, found)
    items = []
    for i, item in enumerate(line_items or []):
        items.append(
            {
                col: field_entry(raw, value, occ.get(f"line_items.{i}.{col}"))
                for col, (raw, value) in item.items()
            }
        )
    other = {
        tag: [{"page": o["page"], "bbox": o["bbox"], "text": o["text"]} for o in entries]
        for tag, entries in occ.items()
        if tag not in out_fields and not tag.startswith("line_items.")
    }
    return {
        "truth_version": TRUTH_VERSION,
        "doc_id": doc_id,
        "kind": kind,
        "layout": layout,
        "locale": locale,
        "pages": [
            {
                "index": i,
                "width": round(doc.width, 2),
                "height": round(doc.height, 2),
                "dpi": 72,
                "unit": "pt",
            }
            for i in range(doc.pages)
        ],
        "fields": out_fields,
        "line_items": items,
        "other_values": other,
        "annotations": annotation_entries(doc),
        "hard_cases": sorted(set(hard_cases or [])),
        "extras": extras or {},
        "runs": runs(doc),
    }


def dec(value: Decimal) -> str:
    """Canonical decimal string: no exponent, trailing zeros of integral quantities removed."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


# ------------------------------------------------------------------ geometry for raster renderings


def apply_h(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.hstack([points, np.ones((len(points), 1))]) @ h.T
    return pts[:, :2] / pts[:, 2:3]


def transform_truth(
    truth: dict[str, Any],
    matrices: list[np.ndarray],
    page_sizes: list[tuple[int, int]],
    dpi: float,
    extra_page_info: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Map every box of a points-based truth through each page's homography (points -> pixels)."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            new = {k: walk(v) for k, v in node.items()}
            if "bbox" in node and "page" in node and isinstance(node["bbox"], list):
                x0, y0, x1, y1 = node["bbox"]
                corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)
                poly = apply_h(matrices[node["page"]], corners)
                new["polygon"] = [_r(p) for p in poly.tolist()]
                new["bbox"] = _r((poly[:, 0].min(), poly[:, 1].min(), poly[:, 0].max(), poly[:, 1].max()))
            return new
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    out = walk(truth)
    out["pages"] = []
    for i, (w, h) in enumerate(page_sizes):
        info = {
            "index": i,
            "width": w,
            "height": h,
            "dpi": dpi,
            "unit": "px",
            "transform_from_pt": [[float(f"{v:.8g}") for v in row] for row in matrices[i].tolist()],
        }
        if extra_page_info:
            info.update(extra_page_info[i])
        out["pages"].append(info)
    return out


def rescale_truth(truth: dict[str, Any], dpi: float) -> dict[str, Any]:
    """A born-digital truth (points, dpi 72) expressed in pixels of a rendering at `dpi`, e.g. to compare
    with OCR run on a page rasterized at 200 dpi."""
    if any(p.get("unit") != "pt" for p in truth["pages"]):
        raise ValueError(
            "only born-digital (dpi 72, points) truths can be rescaled; raster truths are in pixels"
        )
    s = dpi / 72.0
    matrix = np.array([[s, 0, 0], [0, s, 0], [0, 0, 1]], dtype=float)
    sizes = [(round(p["width"] * s), round(p["height"] * s)) for p in truth["pages"]]
    return transform_truth(truth, [matrix] * len(sizes), sizes, dpi)
