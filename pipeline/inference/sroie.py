"""SROIE receipts as OcrResult events: realistic text lengths for benchmarks and worker tests.

Reads the ground-truth OCR lines (`box/NNN.csv`: 8 corner coordinates then the text), so no OCR
engine is needed to load the extraction stage with real documents.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.contracts import BBox, BlobRef, DocKind, EngineInfo, Line, OcrResult, Page
from pipeline.datasets import SROIE_ROOT

DEFAULT_ROOT = SROIE_ROOT


def parse_box_line(row: str) -> tuple[BBox, str] | None:
    parts = row.rstrip("\r\n").split(",", 8)
    if len(parts) < 9 or not parts[8].strip():
        return None
    try:
        xs = [float(v) for v in parts[0:8:2]]
        ys = [float(v) for v in parts[1:8:2]]
    except ValueError:
        return None
    return BBox(x0=min(xs), y0=min(ys), x1=max(xs), y1=max(ys)), parts[8].strip()


def load_receipt(path: Path, salt: str = "") -> OcrResult:
    """One receipt as an OCR result; `salt` makes distinct document ids for repeated copies."""
    raw = path.read_bytes()
    lines: list[Line] = []
    for row in raw.decode("utf-8", errors="replace").splitlines():
        parsed = parse_box_line(row)
        if parsed:
            bbox, text = parsed
            lines.append(Line(text=text, bbox=bbox, confidence=1.0, order=len(lines)))
    width = max((ln.bbox.x1 for ln in lines), default=1.0) + 1
    height = max((ln.bbox.y1 for ln in lines), default=1.0) + 1
    sha = hashlib.sha256(raw + salt.encode()).hexdigest()
    return OcrResult(
        blob=BlobRef(uri=f"file://{path}", sha256=sha, size=max(1, len(raw)), media_type="image/jpeg"),
        kind=DocKind.receipt,
        pages=[Page(index=0, width=width, height=height, dpi=300, source="ocr", lines=lines)],
        engine=EngineInfo(name="sroie-ground-truth", version="1"),
    )


def load_receipts(root: Path = DEFAULT_ROOT, limit: int | None = None) -> list[OcrResult]:
    files = sorted((root / "box").glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"{root}/box: no SROIE box files")
    return [load_receipt(p) for p in files[:limit]]
