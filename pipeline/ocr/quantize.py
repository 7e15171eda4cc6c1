"""Static int8 (QDQ) variants of the PP-OCR models, calibrated on real pages, for CPUs.

Why static and not dynamic: dynamic quantisation turns convolutions into ConvInteger plus per-call
range computation, which made the recogniser slower and 12 points worse (docs/ocr.md). Static QDQ with
ranges calibrated on the engine's own inputs lets ONNX Runtime fuse Conv/MatMul into int8 kernels.

Settings follow ONNX Runtime's guidance for x86 without VNNI (AVX2): uint8 activations, int8
per-channel weights, `reduce_range` (7-bit weights) against u8s8 saturation. The bundled models are
opset 11, where DequantizeLinear has no `axis`, so they are converted to opset 13 first.

The result is an ordinary model directory (det.onnx, rec.onnx, dict.txt, manifest.json) used through
`ocr.model_dir`; roles not quantised are copied unchanged.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.ocr.models import sha256_file

log = logging.getLogger(__name__)
Feed = dict[str, np.ndarray]
ROLES = ("det", "rec")


class RecordingSession:
    """Wraps an onnxruntime InferenceSession and keeps a copy of every input fed to it."""

    def __init__(self, inner: Any, limit: int) -> None:
        self._inner = inner
        self.limit = limit
        self.feeds: list[Feed] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def run(self, output_names: Any, input_feed: Feed, *args: Any, **kwargs: Any) -> Any:
        if len(self.feeds) < self.limit:
            self.feeds.append({k: np.array(v, copy=True) for k, v in input_feed.items()})
        return self._inner.run(output_names, input_feed, *args, **kwargs)


class _Reader:
    """onnxruntime.quantization.CalibrationDataReader over captured feeds."""

    def __init__(self, feeds: Iterable[Feed]) -> None:
        self._feeds = list(feeds)
        self._it: Iterator[Feed] = iter(self._feeds)

    def get_next(self) -> Feed | None:
        return next(self._it, None)

    def rewind(self) -> None:
        """Start over (calibration methods other than MinMax read the data more than once)."""
        self._it = iter(self._feeds)


def to_opset13(src: Path, dst: Path) -> Path:
    """Per-channel DequantizeLinear needs opset >= 13; the wheels ship opset 11 models."""
    import onnx
    from onnx import version_converter

    model = onnx.load(str(src))
    current = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if current < 13:
        model = version_converter.convert_version(model, 13)
    onnx.save(model, str(dst))
    return dst


def quantize_model(src: Path, dst: Path, feeds: Sequence[Feed], *, reduce_range: bool = True) -> None:
    """Write a static int8 QDQ copy of `src` to `dst`, ranges from `feeds` (MinMax)."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if not feeds:
        raise ValueError(f"no calibration inputs for {src.name}")
    with tempfile.TemporaryDirectory(prefix="docpipe-quant-") as tmp:
        upgraded = to_opset13(src, Path(tmp) / "op13.onnx")
        prepared = Path(tmp) / "pre.onnx"
        try:  # shape inference + basic fusions, so more of the graph lands in int8 kernels
            quant_pre_process(str(upgraded), str(prepared), skip_symbolic_shape=True)
        except Exception as exc:  # a model the pre-pass cannot handle still quantises without it
            log.warning("ocr quantize: pre-processing %s skipped (%s)", src.name, exc.__class__.__name__)
            prepared = upgraded
        quantize_static(
            str(prepared),
            str(dst),
            _Reader(feeds),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=reduce_range,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )


def capture_feeds(engine: Any, pages: Iterable[np.ndarray], limit: int = 200) -> dict[str, list[Feed]]:
    """Run a PpOcrOnnxEngine on RGB pages and return the det/rec inputs it produced (what to calibrate on)."""
    recorders = {}
    for role, component in (("det", engine._det), ("rec", engine._rec)):
        recorders[role] = RecordingSession(component.session.session, limit)
        component.session.session = recorders[role]
    try:
        for rgb in pages:
            engine.recognize(rgb)
    finally:
        for role, component in (("det", engine._det), ("rec", engine._rec)):
            component.session.session = recorders[role]._inner
    return {role: rec.feeds for role, rec in recorders.items()}


def write_dict(rec_model: Path, dst: Path) -> bool:
    """Keep the recogniser's character list next to it (quantised graphs may lose model metadata)."""
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(rec_model), load_external_data=False).metadata_props}
    if "character" not in meta:
        return False
    dst.write_text(meta["character"] + "\n", encoding="utf-8")
    return True


def build_model_dir(
    engine: Any,
    pages: Iterable[np.ndarray],
    out_dir: Path,
    *,
    roles: Sequence[str] = ROLES,
    calibration: str = "",
    max_feeds: int = 80,
) -> dict[str, Any]:
    """Calibrate on `pages` and write a model directory for `ocr.model_dir`; returns its manifest."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown model roles: {', '.join(sorted(unknown))}")
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    feeds = capture_feeds(engine, pages, limit=max_feeds)
    sources = {"det": engine.models.det, "rec": engine.models.rec}
    manifest: dict[str, Any] = {"calibration": calibration, "models": {}}
    for role, src in sources.items():
        dst = out_dir / f"{role}.onnx"
        if role in roles:
            quantize_model(src, dst, feeds[role])
        else:
            shutil.copyfile(src, dst)
        manifest["models"][role] = {
            "source": src.name,
            "source_sha256": sha256_file(src),
            "int8": role in roles,
            "calibration_inputs": len(feeds[role]) if role in roles else 0,
        }
    if engine.models.rec_dict is not None:
        shutil.copyfile(engine.models.rec_dict, out_dir / "dict.txt")
    else:
        write_dict(sources["rec"], out_dir / "dict.txt")
    manifest["build_s"] = round(time.perf_counter() - t0, 1)
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest
