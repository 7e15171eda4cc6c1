"""Pick an OCR engine by config; one instance per process and configuration (models load once)."""

from __future__ import annotations

import threading
from pathlib import Path

from pipeline.ocr.engine import OcrEngine
from pipeline.ocr.errors import EngineUnavailable
from pipeline.ocr.settings import OcrSettings

_lock = threading.Lock()
_cache: dict[str, OcrEngine] = {}


def create_engine(settings: OcrSettings, cache_dir: Path | None = None) -> OcrEngine:
    """A new engine instance (no caching): use get_engine() in services."""
    if settings.engine == "ppocr_onnx":
        from pipeline.ocr.ppocr_onnx import PpOcrOnnxEngine

        return PpOcrOnnxEngine(settings, cache_dir=cache_dir)
    if settings.engine == "paddle":
        from pipeline.ocr.paddle import PaddleEngine

        return PaddleEngine(settings)
    raise EngineUnavailable(f"unknown OCR engine {settings.engine!r}")


def get_engine(settings: OcrSettings, cache_dir: Path | None = None) -> OcrEngine:
    key = settings.model_dump_json()
    with _lock:
        engine = _cache.get(key)
        if engine is None:
            engine = _cache[key] = create_engine(settings, cache_dir)
        return engine
