"""A causal LM exported with KV cache (gen_export.py), run with onnxruntime only: no torch at serving.

`OnnxCausalLM` is a `LogitsFn` with incremental decoding: it keeps the token ids it has already
processed and their past keys/values, and on each call feeds only the ids after the longest common
prefix (truncating the cache when the caller diverged). So a prompt is prefilled once, each decoder
step costs one (or a few forced) tokens, and a fixed preamble (instructions + few-shot examples) is
reused across documents as long as the same object serves them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from pipeline.config import InferenceSettings
from pipeline.inference.providers import TRT, ProviderUnavailable, select_providers, session_options

SessionFactory = Callable[[Path], Any]


def generative_session(
    path: Path,
    cfg: InferenceSettings | None = None,
    threads: int | None = None,
    available: Sequence[str] | None = None,
) -> Any:
    """A session on the best provider of this onnxruntime build: CUDA when present, else CPU.

    Same selection rules as pipeline/inference/providers.py, minus TensorRT: its engines need a shape
    profile for every past-key/value input and are rebuilt as the cache grows, so a KV-cache decoder
    runs on CUDA (or CPU) instead. An explicit provider that is missing is an error, not a fallback.
    """
    import onnxruntime as ort

    cfg = cfg or InferenceSettings()
    if cfg.provider == "tensorrt":
        raise ProviderUnavailable("the generative backend runs on CUDA or CPU, not TensorRT")
    have = [p for p in (available if available is not None else ort.get_available_providers()) if p != TRT]
    providers = select_providers(have, cfg, Path("."))
    so = session_options(cfg)
    if threads:
        so.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), sess_options=so, providers=providers)
    if cfg.provider != "auto" and session.get_providers()[0] != providers[0][0]:
        raise ProviderUnavailable(f"{providers[0][0]} was requested but the session runs on CPU")
    return session


class HFTokenizer:
    """tokenizers.Tokenizer as the decoder's TextTokenizer: no special tokens added to pieces (the
    chat markers inside a prompt are still recognised as the model's special tokens)."""

    def __init__(self, path: Path) -> None:
        self.inner = Tokenizer.from_file(str(path))

    @property
    def vocab_size(self) -> int:
        return int(self.inner.get_vocab_size(with_added_tokens=True))

    def encode(self, text: str) -> list[int]:
        return list(self.inner.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: list[int]) -> str:
        return str(self.inner.decode(ids, skip_special_tokens=False))


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class OnnxCausalLM:
    """Next-token logits for a token sequence, reusing the KV cache of the longest common prefix."""

    def __init__(self, session: Any, max_positions: int | None = None) -> None:
        self.session = session
        inputs = {i.name: i for i in session.get_inputs()}
        self.past_names = sorted(
            (n for n in inputs if n.startswith("past_key_values.")),
            key=lambda n: (int(n.split(".")[1]), n.endswith("value")),
        )
        if not self.past_names or "input_ids" not in inputs:
            raise ValueError("not a causal LM exported with past key/values (gen_export.py)")
        shape = inputs[self.past_names[0]].shape  # [1, kv_heads, past_seq, head_dim]
        self.kv_heads, self.head_dim = int(shape[1]), int(shape[3])
        self.output_names = ["logits"] + [n.replace("past_key_values.", "present.") for n in self.past_names]
        self.max_positions = max_positions
        self.reset()
        self.tokens_fed = 0  # how many tokens went through the model (prefill + steps), for the benchmark
        self.calls = 0

    def reset(self) -> None:
        self.ids: list[int] = []
        self.past: list[np.ndarray] = [
            np.zeros((1, self.kv_heads, 0, self.head_dim), dtype=np.float32) for _ in self.past_names
        ]
        self.last: np.ndarray | None = None

    def _truncate(self, n: int) -> None:
        self.ids = self.ids[:n]
        self.past = [p[:, :, :n, :] for p in self.past]
        self.last = None

    def _feed(self, new: Sequence[int]) -> None:
        start = len(self.ids)
        if self.max_positions is not None and start + len(new) > self.max_positions:
            raise ValueError(f"sequence of {start + len(new)} tokens exceeds the model's {self.max_positions}")
        feeds: dict[str, np.ndarray] = {
            "input_ids": np.asarray([new], dtype=np.int64),
            "position_ids": np.arange(start, start + len(new), dtype=np.int64)[None, :],
        }
        feeds.update(zip(self.past_names, self.past, strict=True))
        out = self.session.run(self.output_names, feeds)
        self.last = np.asarray(out[0][0], dtype=np.float32)
        self.past = list(out[1:])
        self.ids.extend(int(t) for t in new)
        self.tokens_fed += len(new)
        self.calls += 1

    def __call__(self, ids: list[int]) -> np.ndarray:
        """Logits of the token after `ids` (the LogitsFn contract)."""
        if not ids:
            raise ValueError("a causal LM needs at least one token of context")
        keep = common_prefix(self.ids, ids)
        if keep == len(ids) == len(self.ids) and self.last is not None:
            return self.last
        if keep == len(ids):  # `ids` is a strict prefix of what we hold: re-feed its last token
            keep -= 1
        if keep < len(self.ids):
            self._truncate(keep)
        self._feed(ids[keep:])
        assert self.last is not None
        return self.last

    def generate(
        self, ids: list[int], max_new_tokens: int, stop: Callable[[list[int]], bool]
    ) -> list[int]:
        """Free-running greedy decoding (the unconstrained baseline) until `stop(new_ids)` is true or
        `max_new_tokens`; the stop test sees the new ids including the last one."""
        out: list[int] = []
        for _ in range(max_new_tokens):
            out.append(int(np.argmax(self(ids + out))))
            if stop(out):
                break
        return out
