"""The default engine on real SROIE receipts: known lines are read, turned pages come out upright."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.ocr.evaluate import matched_lines, read_gt_lines
from pipeline.ocr.ppocr_onnx import tall_share

from .conftest import receipt_rgb


def _texts(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [ln.text for ln in page.lines]


def test_receipt_lines_recalled(engine, sroie: Path) -> None:  # type: ignore[no-untyped-def]
    page = engine.recognize(receipt_rgb(sroie, "401"))
    gt = read_gt_lines(sroie / "box" / "401.csv")
    assert page.rotation == 0
    assert matched_lines(gt, _texts(page)) / len(gt) >= 0.8
    text = " ".join(_texts(page))
    assert "12.50" in text and "KAWASAN PERINDUSTRIAN BALAKONG" in text
    assert all(0.0 <= ln.confidence <= 1.0 and len(ln.polygon) == 4 for ln in page.lines)
    assert all(ln.bbox.x1 <= page.width and ln.bbox.y1 <= page.height for ln in page.lines)


@pytest.mark.parametrize("turns", [1, 2], ids=["rot90", "rot180"])
def test_turned_page_is_read_upright(engine, sroie: Path, turns: int) -> None:  # type: ignore[no-untyped-def]
    top = receipt_rgb(sroie, "400", top_share=0.35)  # header only: fast, still a dozen lines
    upright = engine.recognize(top)
    turned = engine.recognize(np.ascontiguousarray(np.rot90(top, k=-turns)))  # turned clockwise
    assert turned.rotation == (360 - 90 * turns) % 360
    assert (turned.width, turned.height) == (upright.width, upright.height)
    assert matched_lines(_texts(upright), _texts(turned)) >= 0.8 * len(upright.lines)
    assert "SINTHYE" in "".join(_texts(turned)).replace(" ", "").upper()


def test_tall_share() -> None:
    wide = np.array([[[0, 0], [100, 0], [100, 20], [0, 20]]], dtype=np.float32)
    tall = np.array([[[0, 0], [20, 0], [20, 100], [0, 100]]], dtype=np.float32)
    assert tall_share(np.concatenate([wide, tall, tall])) == pytest.approx(2 / 3)
    assert tall_share(np.zeros((0, 4, 2), np.float32)) == 0.0


def test_engine_info_records_models_and_provider(engine) -> None:  # type: ignore[no-untyped-def]
    info = engine.info()
    assert info.name == "ppocr_onnx" and info.execution_provider
    assert len(info.models) == 3 and all(v.startswith("sha256:") for v in info.models.values())
    assert engine.threads()["intra_op"] >= 1


def test_word_boxes_when_asked(sroie: Path) -> None:
    from pipeline.ocr.factory import get_engine
    from pipeline.ocr.settings import OcrSettings

    page = get_engine(OcrSettings(mode="fast", word_boxes=True)).recognize(receipt_rgb(sroie, "400", 0.15))
    line = next(ln for ln in page.lines if len(ln.text.split()) >= 3)
    assert [w.text for w in line.words] == line.text.split()
    for w in line.words:  # words sit inside their line, left to right
        assert line.bbox.x0 - 2 <= w.bbox.x0 < w.bbox.x1 <= line.bbox.x1 + 2
    assert [w.bbox.x0 for w in line.words] == sorted(w.bbox.x0 for w in line.words)
