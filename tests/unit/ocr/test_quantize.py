"""Static int8 quantisation on a small real ONNX conv net (opset 11, like the bundled PP-OCR models)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from pipeline.ocr.quantize import RecordingSession, quantize_model, to_opset13, write_dict  # noqa: E402


def _conv_net(path: Path, with_chars: bool = False) -> Path:
    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "w1")
    b1 = numpy_helper.from_array(np.zeros(8, np.float32), "b1")
    w2 = numpy_helper.from_array(rng.normal(0, 0.3, (4, 8, 3, 3)).astype(np.float32), "w2")
    b2 = numpy_helper.from_array(np.zeros(4, np.float32), "b2")
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["y"], pads=[1, 1, 1, 1]),
    ]
    graph = helper.make_graph(
        nodes,
        "net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3, 16, None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4, 16, None])],
        [w1, b1, w2, b2],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    if with_chars:
        helper.set_model_props(model, {"character": "a\nb\nc"})
    onnx.save(model, str(path))
    return path


def _feeds(n: int, width: int = 24) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(1)
    return [{"x": rng.uniform(-1, 1, (2, 3, 16, width)).astype(np.float32)} for _ in range(n)]


def test_quantized_model_is_int8_opset13_and_close_to_fp32(tmp_path: Path) -> None:
    src = _conv_net(tmp_path / "net.onnx")
    dst = tmp_path / "net.int8.onnx"
    quantize_model(src, dst, _feeds(4))
    model = onnx.load(str(dst))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("QuantizeLinear") >= 2 and ops.count("DequantizeLinear") >= 4  # weights and activations
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 13
    x = _feeds(1, width=40)[0]  # another width than calibrated: dynamic shapes survive
    ref = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, x)[0]
    got = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"]).run(None, x)[0]
    assert got.shape == ref.shape
    assert float(np.abs(got - ref).mean()) < 0.05 * float(np.abs(ref).mean())


def test_quantize_without_inputs_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no calibration inputs"):
        quantize_model(_conv_net(tmp_path / "net.onnx"), tmp_path / "out.onnx", [])


def test_to_opset13_upgrades_and_keeps_results(tmp_path: Path) -> None:
    src = _conv_net(tmp_path / "net.onnx")
    up = to_opset13(src, tmp_path / "up.onnx")
    assert max(o.version for o in onnx.load(str(up)).opset_import) == 13
    x = _feeds(1)[0]
    a = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, x)[0]
    b = ort.InferenceSession(str(up), providers=["CPUExecutionProvider"]).run(None, x)[0]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_recording_session_keeps_copies_up_to_limit(tmp_path: Path) -> None:
    sess = ort.InferenceSession(str(_conv_net(tmp_path / "net.onnx")), providers=["CPUExecutionProvider"])
    rec = RecordingSession(sess, limit=2)
    feeds = _feeds(3)
    outs = [rec.run(None, f)[0] for f in feeds]
    assert len(rec.feeds) == 2 and all(o.shape == (2, 4, 16, 24) for o in outs)
    feeds[0]["x"][:] = 0  # a caller reusing its buffer must not change what was recorded
    assert float(np.abs(rec.feeds[0]["x"]).sum()) > 0
    assert rec.get_inputs()[0].name == "x"  # everything else is the real session's


def test_write_dict_from_model_metadata(tmp_path: Path) -> None:
    assert write_dict(_conv_net(tmp_path / "chars.onnx", with_chars=True), tmp_path / "dict.txt")
    assert (tmp_path / "dict.txt").read_text(encoding="utf-8").splitlines() == ["a", "b", "c"]
    assert not write_dict(_conv_net(tmp_path / "plain.onnx"), tmp_path / "none.txt")


def test_calibration_reader_reads_every_feed_and_rewinds() -> None:
    import numpy as np

    from pipeline.ocr.quantize import _Reader

    feeds = [{"x": np.full((1, 2), i, dtype=np.float32)} for i in range(3)]
    reader = _Reader(iter(feeds))
    first = [reader.get_next() for _ in range(4)]
    assert first[3] is None and [f["x"][0, 0] for f in first[:3]] == [0, 1, 2]  # type: ignore[index]
    reader.rewind()
    assert reader.get_next() is feeds[0]
