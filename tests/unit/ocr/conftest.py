"""Shared fixtures: real SROIE receipts (skipped when the data set is absent) and one engine per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.datasets import SROIE_ROOT
from pipeline.ocr.settings import OcrSettings

SROIE = SROIE_ROOT


@pytest.fixture(scope="session")
def sroie() -> Path:
    if not (SROIE / "img" / "400.jpg").is_file():
        pytest.skip("SROIE data set not available")
    return SROIE


@pytest.fixture(scope="session")
def fast_settings() -> OcrSettings:
    return OcrSettings(mode="fast")


@pytest.fixture(scope="session")
def engine(fast_settings: OcrSettings):  # type: ignore[no-untyped-def]
    from pipeline.ocr.factory import get_engine

    return get_engine(fast_settings)


def receipt_rgb(sroie: Path, rid: str, top_share: float = 1.0) -> np.ndarray:
    rgb = np.asarray(Image.open(sroie / "img" / f"{rid}.jpg").convert("RGB"))
    return np.ascontiguousarray(rgb[: int(rgb.shape[0] * top_share)])
