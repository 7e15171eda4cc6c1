"""OCR results kept on disk for evaluations and benchmarks.

OCR costs seconds per scanned page and does not depend on the extraction model or the gate policy,
so re-measuring those reads the cache. Entries are keyed by the file's sha256 and a digest of the
OCR settings, defaults included (another mode, DPI or detection size is another entry) and written atomically.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from pipeline.contracts import OcrResult
from pipeline.ocr.settings import OcrSettings


def settings_tag(settings: OcrSettings) -> str:
    """The settings plus the engine's per-mode defaults they leave open (a changed default detection
    size must not be served results read with the old one)."""
    from pipeline.ocr.ppocr_onnx import MODE_DEFAULTS

    key = settings.model_dump_json() + json.dumps(MODE_DEFAULTS.get(settings.mode, {}), sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def cached_ocr(
    cache_dir: Path | None, sha256: str, settings: OcrSettings, read: Callable[[], OcrResult]
) -> OcrResult:
    """`read()` once per (file, OCR settings); later calls load the stored result."""
    if cache_dir is None:
        return read()
    path = cache_dir / f"{sha256}-{settings_tag(settings)}.json"
    if path.is_file():
        return OcrResult.model_validate_json(path.read_bytes())
    result = read()
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(result.model_dump_json(), encoding="utf-8")
    tmp.replace(path)
    return result
