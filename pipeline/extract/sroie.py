"""SROIE receipts (ground-truth OCR boxes + key labels) as OcrResults, for training and evaluation.

The data stays in the shared data folder; only ids and file hashes go into model cards.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from pipeline.contracts import BBox, BlobRef, DocKind, EngineInfo, Line, OcrResult, Page, Point
from pipeline.datasets import SROIE_ROOT

DEFAULT_ROOT = SROIE_ROOT
# SROIE key -> shared field name (COMMON.md)
LABEL_FIELDS = {"company": "merchant", "address": "merchant_address", "date": "date", "total": "total"}
TRAIN_IDS = [f"{i:03d}" for i in range(0, 400)]
VAL_IDS = [f"{i:03d}" for i in range(400, 500)]


@dataclass(frozen=True)
class SroieDoc:
    doc_id: str
    ocr: OcrResult
    labels: dict[str, str]  # shared field name -> label string
    box_sha256: str
    key_sha256: str


def parse_box_line(row: str) -> tuple[list[int], str] | None:
    """`x1,y1,...,y4,TEXT` where TEXT may contain commas."""
    parts = row.rstrip("\r\n").split(",", 8)
    if len(parts) < 9:
        return None
    try:
        coords = [int(p) for p in parts[:8]]
    except ValueError:
        return None
    return coords, parts[8]


def _manifest(root: Path) -> dict[str, dict[str, str]]:
    with (root / "manifest.csv").open(newline="") as fh:
        return {r["id"]: r for r in csv.DictReader(fh)}


def load_doc(root: Path, doc_id: str, manifest: dict[str, dict[str, str]] | None = None) -> SroieDoc:
    manifest = manifest or _manifest(root)
    meta = manifest[doc_id]
    box_bytes = (root / "box" / f"{doc_id}.csv").read_bytes()
    key_bytes = (root / "key" / f"{doc_id}.json").read_bytes()
    lines: list[Line] = []
    for row in box_bytes.decode("utf-8").splitlines():
        parsed = parse_box_line(row)
        if parsed is None or not parsed[1].strip():
            continue
        c, text = parsed
        xs, ys = c[0::2], c[1::2]
        lines.append(
            Line(
                text=text,
                bbox=BBox(x0=min(xs), y0=min(ys), x1=max(xs), y1=max(ys)),
                polygon=[Point(x=c[i], y=c[i + 1]) for i in range(0, 8, 2)],
                confidence=1.0,
                order=len(lines),
            )
        )
    img = root / "img" / f"{doc_id}.jpg"
    blob = BlobRef(
        uri=img.resolve().as_uri(),
        sha256=meta["sha256"],
        size=max(1, img.stat().st_size),
        media_type="image/jpeg",
    )
    page = Page(
        index=0,
        width=float(meta["new_width"]),
        height=float(meta["new_height"]),
        dpi=72.0,
        source="ocr",
        lines=lines,
    )
    ocr = OcrResult(
        blob=blob,
        kind=DocKind.receipt,
        pages=[page],
        engine=EngineInfo(name="sroie-ground-truth", version="1"),
    )
    raw = json.loads(key_bytes)
    labels = {LABEL_FIELDS[k]: str(v) for k, v in raw.items() if k in LABEL_FIELDS and str(v).strip()}
    return SroieDoc(
        doc_id=doc_id,
        ocr=ocr,
        labels=labels,
        box_sha256=hashlib.sha256(box_bytes).hexdigest(),
        key_sha256=hashlib.sha256(key_bytes).hexdigest(),
    )


def load_split(root: Path, ids: list[str]) -> list[SroieDoc]:
    manifest = _manifest(root)
    return [load_doc(root, i, manifest) for i in ids]


def data_manifest(docs: list[SroieDoc]) -> dict[str, object]:
    """What a model was trained/evaluated on: ids and a digest over every file hash (reproducibility)."""
    h = hashlib.sha256()
    for d in docs:
        h.update(f"{d.doc_id}:{d.box_sha256}:{d.key_sha256}\n".encode())
    return {
        "dataset": "sroie-2019-task3-train(zzzDavid)",
        "ids": [d.doc_id for d in docs],
        "count": len(docs),
        "digest": h.hexdigest(),
    }


def with_our_ocr(docs: list[SroieDoc], root: Path, cache_dir: Path, settings: object | None = None) -> list[SroieDoc]:
    """The same receipts read from their images by the pipeline's own OCR stage (end-to-end figures),
    cached per image and OCR configuration because OCR costs seconds per receipt."""
    from pipeline.config import Settings
    from pipeline.ocr.api import read_bytes
    from pipeline.ocr.cache import cached_ocr

    cfg = settings if isinstance(settings, Settings) else Settings()
    out = []
    for d in docs:
        data = (root / "img" / f"{d.doc_id}.jpg").read_bytes()
        ocr = cached_ocr(cache_dir, hashlib.sha256(data).hexdigest(), cfg.ocr, partial(read_bytes, data, cfg))
        ocr = ocr.model_copy(update={"kind": DocKind.receipt})
        out.append(SroieDoc(d.doc_id, ocr, d.labels, d.box_sha256, d.key_sha256))
    return out
