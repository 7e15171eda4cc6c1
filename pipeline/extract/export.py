"""Export a trained QA checkpoint to ONNX and build quantized / optimized variants (needs torch).

Why torch.onnx + onnxruntime.quantization rather than optimum's ORTQuantizer: optimum 2.x moved its
ONNX exporter into `optimum-onnx`, whose current release pins transformers<4.58 and would downgrade
the shared environment. ORTQuantizer's AVX2/AVX512 configs are thin wrappers over the same
`quantize_dynamic` call (per-tensor vs per-channel, reduce_range), which we call directly.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from pipeline.extract.registry import sha256_file

log = logging.getLogger(__name__)


def export_onnx(hf_dir: Path, out_path: Path, opset: int = 17) -> Path:
    """fp32 ONNX graph with dynamic batch and sequence axes; outputs start_logits, end_logits."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForQuestionAnswering

    model = AutoModelForQuestionAnswering.from_pretrained(str(hf_dir))
    model.eval()

    class Wrapped(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.start_logits, out.end_logits

    ids = torch.ones((2, 32), dtype=torch.long)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            Wrapped(model),
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(out_path),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["start_logits", "end_logits"],
            dynamic_axes={
                n: {0: "batch", 1: "seq"}
                for n in ("input_ids", "attention_mask", "token_type_ids", "start_logits", "end_logits")
            },
            opset_version=opset,
            dynamo=False,
        )
    return out_path


def _dims(src: Path) -> tuple[int, int]:
    """Heads and hidden size from the HF config saved next to the export (defaults: MiniLM-L6)."""
    cfg = src.parent / "config.json"
    if cfg.is_file():
        data = json.loads(cfg.read_text())
        return int(data.get("num_attention_heads", 12)), int(data.get("hidden_size", 384))
    return 12, 384


def optimize_fp32(src: Path, dst: Path) -> Path:
    """Offline transformer graph fusions (attention, LayerNorm, GELU) for a BERT encoder."""
    from onnxruntime.transformers.optimizer import optimize_model

    heads, hidden = _dims(src)
    opt = optimize_model(str(src), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1)
    opt.save_model_to_file(str(dst))
    return dst


def to_fp16(src: Path, dst: Path) -> Path:
    """fp16 weights for GPU deployments (CPU runs it slowly; evaluated on CPU for accuracy only)."""
    from onnxruntime.transformers.optimizer import optimize_model

    heads, hidden = _dims(src)
    opt = optimize_model(str(src), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1)
    opt.convert_float_to_float16(keep_io_types=True)
    opt.save_model_to_file(str(dst))
    return dst


def quantize(
    src: Path,
    dst: Path,
    *,
    per_channel: bool,
    reduce_range: bool = False,
    ops: tuple[str, ...] = ("MatMul", "Gemm", "Gather"),
) -> Path:
    """Dynamic int8 weights (MatMul/Gemm and the embedding Gather, 3/4 of the bytes), activations
    quantized at run time."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src),
        str(dst),
        per_channel=per_channel,
        reduce_range=reduce_range,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=list(ops),
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},  # fused contrib ops lack shape info
    )
    return dst


def fp16_storage(src: Path, dst: Path, min_elements: int = 1024) -> Path:
    """fp32 compute with weights stored as fp16: each large initializer becomes fp16 + a Cast to fp32.

    ONNX Runtime folds the Casts into fp32 constants when the session is created, so inference runs
    the plain fp32 graph: half the bytes on disk, the accuracy of fp32 (fp16 rounding of trained
    weights changed no SROIE answer), and, unlike dynamic int8, results that do not depend on which
    other sequences share the batch (activations are never quantized with a per-batch range).
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    casts = []
    kept = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            kept.append(init)
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), f"{init.name}__fp16")
        kept.append(half)
        casts.append(
            helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=f"{init.name}__cast")
        )
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend([*casts, *nodes])
    onnx.checker.check_model(model)
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dst))
    return dst


VARIANTS: dict[str, Callable[[Path, Path], Path]] = {
    "fp32-fp16w": fp16_storage,
    "fp32-opt": optimize_fp32,
    "int8-tensor": lambda s, d: quantize(s, d, per_channel=False),  # = optimum AVX2 config
    "int8-channel": lambda s, d: quantize(s, d, per_channel=True),  # = optimum AVX512 config
    "int8-channel-rr": lambda s, d: quantize(s, d, per_channel=True, reduce_range=True),
    # int8 on top of the fused graph (QAttention etc.)
    "int8-opt-tensor": lambda s, d: quantize(
        s, d, per_channel=False, ops=("MatMul", "Gemm", "Gather", "Attention", "EmbedLayerNormalization")
    ),
    "fp16": to_fp16,
}


def build_variants(hf_dir: Path, work: Path, names: list[str] | None = None) -> dict[str, dict[str, object]]:
    """fp32 export plus each named variant: path, size and checksum of every file."""
    fp32 = export_onnx(hf_dir, work / "fp32" / "model.onnx")
    shutil.copyfile(hf_dir / "config.json", fp32.parent / "config.json")
    out: dict[str, dict[str, object]] = {"fp32": {"path": str(fp32)}}
    for name in names or list(VARIANTS):
        dst = work / name / "model.onnx"
        dst.parent.mkdir(parents=True, exist_ok=True)
        src = work / "fp32-opt" / "model.onnx" if name.startswith("int8-opt") else fp32
        try:
            VARIANTS[name](src, dst)
        except Exception as exc:  # a variant that cannot be built is reported, not fatal
            log.warning("variant %s failed: %s", name, str(exc)[:200])
            continue
        out[name] = {"path": str(dst)}
    for info in out.values():
        p = Path(str(info["path"]))
        info["bytes"] = p.stat().st_size
        info["sha256"] = sha256_file(p)
    return out
