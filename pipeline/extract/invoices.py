"""Generated invoices (pipeline.samples) as labelled documents for training and evaluation.

The generator gives every field's printed form and box, so invoice fields are learned without any
private data. Layouts are split: the model trains on `TRAIN_LAYOUTS` and is also evaluated on
`HELDOUT_LAYOUTS` it never saw, which is what tells us whether it learned invoices or memorised
templates. Documents are born-digital PDFs read through the OCR stage's own text-layer path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.config import Settings
from pipeline.contracts import BBox, OcrResult
from pipeline.extract.prompts import load_prompt_set
from pipeline.ocr.api import read_bytes
from pipeline.samples.generate import Request, iter_documents
from pipeline.samples.layout_invoice import INVOICE_LAYOUT_IDS
from pipeline.samples.world import World

HELDOUT_LAYOUTS: tuple[str, ...] = ("inv-ledger", "inv-statement", "inv-tax-columns", "inv-letterhead")
TRAIN_LAYOUTS: tuple[str, ...] = tuple(lay for lay in INVOICE_LAYOUT_IDS if lay not in HELDOUT_LAYOUTS)
TRAIN_SEED, EVAL_SEED = 4101, 9301  # different seeds: different vendors, numbers, dates and amounts


@dataclass
class LabelledInvoice:
    """An invoice as the extractor sees it (OCR result) plus its printed field values and their boxes."""

    doc_id: str
    layout: str
    ocr: OcrResult
    labels: dict[str, str | None]
    boxes: dict[str, tuple[int, BBox]] = field(default_factory=dict)


Boxes = dict[str, tuple[int, BBox]]


def _labels(truth: dict[str, Any], ocr: OcrResult, fields: list[str]) -> tuple[dict[str, str | None], Boxes]:
    """Printed value of every prompt field (None = not on the document) and its box in OCR pixels."""
    pt_width = {p["index"]: float(p["width"]) for p in truth["pages"]}
    px_width = {p.index: p.width for p in ocr.pages}
    labels: dict[str, str | None] = {}
    boxes: Boxes = {}
    for name in fields:
        f = truth["fields"].get(name)
        if not f or not f.get("present") or not f.get("raw"):
            labels[name] = None
            continue
        labels[name] = str(f["raw"])
        if f.get("bbox") is not None and f.get("page") in px_width:
            page = int(f["page"])
            k = px_width[page] / pt_width[page]
            x0, y0, x1, y1 = (float(v) * k for v in f["bbox"])
            boxes[name] = (page, BBox(x0=x0, y0=y0, x1=x1, y1=y1))
    return labels, boxes


def generate_labelled(
    count: int, seed: int, layouts: tuple[str, ...], settings: Settings | None = None
) -> list[LabelledInvoice]:
    """`count` born-digital invoices over `layouts`, read through the text layer, with labels."""
    if count <= 0:
        return []
    settings = settings or Settings()
    fields = [f.name for f in load_prompt_set("invoice").fields]
    out: list[LabelledInvoice] = []
    for doc in iter_documents(Request("invoice", count, seed, render="pdf", layouts=layouts), World(seed)):
        pdf = next(data for name, data in doc.files.items() if name.endswith(".pdf"))
        ocr = read_bytes(pdf, settings)
        labels, boxes = _labels(doc.truth, ocr, fields)
        out.append(LabelledInvoice(doc.doc_id, doc.layout, ocr, labels, boxes))
    return out
