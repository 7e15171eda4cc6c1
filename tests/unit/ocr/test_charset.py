"""A charset restricts what the real recogniser may output; nothing else about the page changes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.ocr.charset import CHARSETS, class_mask
from pipeline.ocr.factory import get_engine
from pipeline.ocr.settings import OcrSettings

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
TEXT = ("CAFÉ MÜNCHEN", "Straße 12, Zürich", "TOTAL 12,50 €", "RECEIPT 88")


def _page() -> np.ndarray:
    try:
        font = ImageFont.truetype(FONT, 36)
    except OSError:
        pytest.skip("DejaVu font not installed")
    img = Image.new("RGB", (900, 80 * len(TEXT) + 40), "white")
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(TEXT):
        draw.text((40, 30 + 80 * i), line, fill="black", font=font)
    return np.asarray(img)


def test_class_mask_keeps_blank_and_allowed_classes() -> None:
    chars = ["blank", "A", "é", "收", " ", "€"]
    assert class_mask(chars, "all") is None
    assert class_mask(chars, "ascii").tolist() == [1, 1, 0, 0, 1, 0]
    assert class_mask(chars, "latin").tolist() == [1, 1, 1, 0, 1, 1]
    assert class_mask(["blank", "A"], "ascii") is None  # nothing to mask: the session is left alone
    with pytest.raises(ValueError, match="no characters"):
        class_mask(["blank", "收"], "ascii")


def test_charsets_restrict_the_real_recogniser() -> None:
    rgb = _page()
    read = {cs: get_engine(OcrSettings(mode="fast", charset=cs)).recognize(rgb) for cs in ("all", "latin", "ascii")}
    texts = {cs: " ".join(ln.text for ln in page.lines) for cs, page in read.items()}
    assert "É" in texts["all"] and "ß" in texts["all"]
    for cs in ("latin", "ascii"):
        assert set(texts[cs]) <= CHARSETS[cs], texts[cs]
        assert len(read[cs].lines) == len(read["all"].lines)  # same detections, only decoding differs
    assert texts["latin"] == texts["all"]  # nothing on this page is outside Latin
    assert "CAFE" in texts["ascii"] and "Zurich" in texts["ascii"]  # the base letter is the next best class
    assert "12,50" in texts["ascii"] and "RECEIPT" in texts["ascii"]
    assert get_engine(OcrSettings(mode="fast", charset="ascii")).info().version.endswith("charset ascii")
