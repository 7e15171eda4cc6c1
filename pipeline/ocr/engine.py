"""The one OCR engine interface every raster backend implements (docTR-style: backends behind an interface,
a factory picks one by config). Engines see one upright-or-not RGB page and return lines in its pixels.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from pipeline.contracts import EngineInfo, Line


@dataclass
class RecognizedPage:
    """What an engine read from one raster. Coordinates are in the upright page's pixels."""

    width: int
    height: int
    rotation: int = 0  # degrees clockwise the page was turned to read upright
    lines: list[Line] = field(default_factory=list)  # order not yet assigned
    timings_ms: dict[str, float] = field(default_factory=dict)


class OcrEngine(ABC):
    name: str = "engine"

    @abstractmethod
    def recognize(self, rgb: np.ndarray) -> RecognizedPage:
        """Read one page image (HxWx3 uint8 RGB)."""

    @abstractmethod
    def info(self) -> EngineInfo:
        """Engine name, version, model checksums and execution provider (recorded on every result)."""

    def threads(self) -> dict[str, int]:
        """Thread settings in effect, for benchmark reports."""
        return {}
