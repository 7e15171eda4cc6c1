"""Packaged model variants: fp16-stored weights run as fp32, and the release rule picks by accuracy first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from pipeline.extract.export import fp16_storage
from pipeline.extract.release import MAX_PACKAGED_BYTES, choose_variant


def _matmul_model(path: Path, w: np.ndarray, b: np.ndarray) -> Path:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", w.shape[0]])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", w.shape[1]])
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])],
        "tiny",
        [x],
        [y],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_fp16_storage_halves_the_weights_and_computes_in_fp32(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(64, 64)).astype(np.float32)
    b = rng.normal(size=(64,)).astype(np.float32)  # below the size threshold: stays fp32
    src = _matmul_model(tmp_path / "fp32.onnx", w, b)
    dst = fp16_storage(src, tmp_path / "fp16w.onnx")
    assert dst.stat().st_size < 0.6 * src.stat().st_size
    kinds = {i.name: i.data_type for i in onnx.load(str(dst)).graph.initializer}
    assert kinds == {"w__fp16": TensorProto.FLOAT16, "b": TensorProto.FLOAT}
    sess = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"])
    x = rng.normal(size=(5, 64)).astype(np.float32)
    (y,) = sess.run(None, {"x": x})
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, x @ w.astype(np.float16).astype(np.float32) + b, rtol=1e-5, atol=1e-5)
    rows = np.concatenate([sess.run(None, {"x": x[i : i + 1]})[0] for i in range(len(x))])
    assert np.array_equal(rows, y)  # no per-batch activation ranges: a row's answer ignores its batch-mates


def _result(em: float, cpu: float) -> dict[str, Any]:
    fields = {f: {"exact_match": em} for f in ("merchant", "merchant_address", "date", "total")}
    return {"summary": {"fields": fields}, "timing": {"cpu_s_per_doc": cpu}}


def test_release_rule_prefers_accuracy_within_the_size_budget() -> None:
    variants = {
        "fp32": {"bytes": 90_000_000},
        "fp32-fp16w": {"bytes": 45_000_000},
        "int8-channel": {"bytes": 23_000_000},
    }
    close = {"fp32": _result(0.90, 0.36), "fp32-fp16w": _result(0.90, 0.37), "int8-channel": _result(0.895, 0.28)}
    assert choose_variant(variants, close) == "int8-channel"  # within 1 point: the fastest
    far = {**close, "int8-channel": _result(0.88, 0.28)}
    assert choose_variant(variants, far) == "fp32-fp16w"  # int8 2 points off: fp32 accuracy, fits git
    assert 45_000_000 <= MAX_PACKAGED_BYTES < 90_000_000
