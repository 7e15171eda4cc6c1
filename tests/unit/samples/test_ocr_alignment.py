"""Ground-truth boxes line up with what a real OCR engine reads on a distorted rendering (one sample)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.samples.generate import generate


def _overlap(a: list[float], b: list[float]) -> float:
    """Intersection over the smaller box: OCR lines often join several values on one row."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / small if small > 0 else 0.0


@pytest.mark.slow
def test_photo_receipt_boxes_match_rapidocr_lines(tmp_path: Path) -> None:
    rapidocr = pytest.importorskip("rapidocr")
    from rapidfuzz import fuzz

    manifest = generate("receipt", 1, 8, tmp_path, "photo", layouts=["rcp-thermal-sans"])
    entry = manifest["documents"][0]
    truth = json.loads((tmp_path / entry["truth"]).read_text())
    result = rapidocr.RapidOCR()(str(tmp_path / entry["file"]))
    lines = [
        (
            [
                float(np.min(box[:, 0])),
                float(np.min(box[:, 1])),
                float(np.max(box[:, 0])),
                float(np.max(box[:, 1])),
            ],
            text,
        )
        for box, text in zip(np.asarray(result.boxes), result.txts, strict=True)
    ]
    matched = 0
    checked = 0
    for name, field in truth["fields"].items():
        if not field["present"] or name in ("currency", "merchant_address"):
            continue
        checked += 1
        best = max(lines, key=lambda line: _overlap(field["bbox"], line[0]))
        if _overlap(field["bbox"], best[0]) > 0.5 and fuzz.partial_ratio(field["raw"], best[1]) >= 75:
            matched += 1
    assert checked >= 4
    print("ocr-matched", matched, "of", checked)
    assert matched >= checked - 1, (matched, checked, lines)
