"""Optional backend: native PaddleOCR (`pip install 'docpipe[paddle]'`). Import-guarded: without the extra
the factory raises EngineUnavailable with the install hint instead of failing at import time.
"""

from __future__ import annotations

import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

from pipeline.contracts import BBox, EngineInfo, Line, Point
from pipeline.ocr.engine import OcrEngine, RecognizedPage
from pipeline.ocr.errors import EngineUnavailable
from pipeline.ocr.settings import OcrSettings

INSTALL_HINT = "the paddle OCR backend needs the optional extra: pip install 'docpipe[paddle]'"


class PaddleEngine(OcrEngine):
    name = "paddle"

    def __init__(self, settings: OcrSettings) -> None:
        try:
            from paddleocr import PaddleOCR
        except ImportError:
            raise EngineUnavailable(INSTALL_HINT) from None
        self.settings = settings
        self._ocr = PaddleOCR(
            use_doc_orientation_classify=settings.orientation != "off",
            use_doc_unwarping=False,
            use_textline_orientation=settings.orientation != "off",
            text_rec_score_thresh=settings.text_score,
        )

    def info(self) -> EngineInfo:
        try:
            ver = version("paddleocr")
        except PackageNotFoundError:
            ver = "unknown"
        return EngineInfo(name=self.name, version=f"paddleocr {ver}", models={}, execution_provider="paddle")

    def recognize(self, rgb: np.ndarray) -> RecognizedPage:
        t = time.perf_counter()
        results: list[Any] = list(self._ocr.predict(np.ascontiguousarray(rgb[:, :, ::-1])))
        lines: list[Line] = []
        h, w = rgb.shape[:2]
        rotation = 0
        for res in results:
            data = res.json.get("res", res.json) if hasattr(res, "json") else dict(res)
            angle = (data.get("doc_preprocessor_res") or {}).get("angle", 0)
            rotation = int(angle) % 360 if isinstance(angle, int | float) and angle >= 0 else 0
            for text, score, poly in zip(
                data.get("rec_texts", []), data.get("rec_scores", []), data.get("rec_polys", []), strict=False
            ):
                arr = np.asarray(poly, dtype=np.float32).reshape(-1, 2)
                if not str(text).strip() or len(arr) == 0:
                    continue
                pts = [Point(x=float(x), y=float(y)) for x, y in arr[:4]]
                lines.append(
                    Line(
                        text=str(text).strip(),
                        confidence=float(min(max(score, 0.0), 1.0)),
                        order=0,
                        polygon=pts,
                        bbox=BBox(
                            x0=float(arr[:, 0].min()),
                            y0=float(arr[:, 1].min()),
                            x1=float(arr[:, 0].max()),
                            y1=float(arr[:, 1].max()),
                        ),
                    )
                )
        if rotation in (90, 270):
            h, w = w, h
        return RecognizedPage(
            width=w,
            height=h,
            rotation=rotation,
            lines=lines,
            timings_ms={"paddle_ms": (time.perf_counter() - t) * 1000},
        )
