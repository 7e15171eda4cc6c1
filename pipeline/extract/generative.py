"""Generative backend core: schema-constrained, grounded decoding for a causal LM (model-agnostic).

The decoder writes the JSON skeleton itself (keys in prompt order, punctuation) and lets the model
choose only (a) `null` or a string per field and (b) the string's tokens. Every value token must keep
the value a substring of the document (exact masking over the whole vocabulary, not a top-k guess)
and may not contain quotes, backslashes or control characters. So the output is valid JSON for ANY
weights (random ones included) and every value is grounded by construction. Document line breaks
count as spaces for matching, so a value may span lines (addresses) like the QA backend's spans.

`parse_fields` + `check_grounding` serve free-running checkpoints too: an unparsable answer triggers a
constrained retry, an ungrounded value is flagged (grounded=False).

The model is any `LogitsFn` (token ids -> next-token logits); gen_onnx.OnnxCausalLM is the ONNX
Runtime one with KV cache.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from pipeline.extract.prompts import PromptSet

LogitsFn = Callable[[list[int]], np.ndarray]
MAX_PIECE_CHARS = 24  # longest token piece considered when matching the document


class TextTokenizer(Protocol):
    def encode(self, text: str) -> list[int]: ...
    def decode(self, ids: list[int]) -> str: ...


@dataclass(frozen=True)
class GenField:
    name: str
    value: str | None
    logprob: float  # log P(this answer) under the model: choice + value tokens + closing quote
    grounded: bool
    confidence: float  # exp(logprob), i.e. the model's probability of exactly this answer


@dataclass(frozen=True)
class FieldSpec:
    name: str
    max_tokens: int = 24
    scope_end: int | None = None  # the value must lie in document[:scope_end] (e.g. the first 14 lines)


def _json_safe(piece: str) -> bool:
    return bool(piece) and not any(c in '"\\' or ord(c) < 0x20 for c in piece)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    m = x.max()
    return x - m - math.log(float(np.exp(x - m).sum()))


def _logsumexp(vals: Sequence[float]) -> float:
    if not vals:
        return -math.inf
    m = max(vals)
    if m == -math.inf:
        return m
    return m + math.log(sum(math.exp(v - m) for v in vals))


class Vocabulary:
    """Decoded pieces of every token id, indexed for substring matching (built once per tokenizer)."""

    def __init__(self, tok: TextTokenizer, size: int) -> None:
        self.size = size
        self.pieces = [tok.decode([i]) for i in range(size)]
        self.by_piece: dict[str, list[int]] = {}
        self.by_stripped: dict[str, list[int]] = {}
        for i, p in enumerate(self.pieces):
            if not _json_safe(p) or len(p) > MAX_PIECE_CHARS:
                continue
            self.by_piece.setdefault(p, []).append(i)
            if p.lstrip():
                self.by_stripped.setdefault(p.lstrip(), []).append(i)
        self.max_len = max((len(p) for p in self.by_piece), default=1)
        # tokens that close a string in the model's own spelling: '"', '",', '"}' ...
        self.closers = [i for i, p in enumerate(self.pieces) if p.startswith('"')]

    def single(self, tok: TextTokenizer, texts: Sequence[str]) -> list[int]:
        """Ids of those texts that encode to exactly one token not made only of whitespace."""
        out = []
        for t in texts:
            ids = tok.encode(t)
            if len(ids) == 1 and self.pieces[ids[0]].strip():
                out.append(ids[0])
        return sorted(set(out))


class ConstrainedDecoder:
    """Greedy decoding inside the JSON/grounding constraints, with exact vocabulary masking."""

    def __init__(
        self,
        tok: TextTokenizer,
        logits_fn: LogitsFn,
        *,
        vocab_size: int | None = None,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self.tok = tok
        self.logits_fn = logits_fn
        if vocabulary is None:
            size = vocab_size or int(np.asarray(logits_fn(tok.encode("{") or [0])).shape[-1])
            vocabulary = Vocabulary(tok, size)
        self.vocab = vocabulary
        self.open_ids = self.vocab.single(tok, ['"', ' "'])
        self.null_first = self._first_tokens(["null", " null"])
        if not self.open_ids or not self.null_first:
            raise ValueError("tokenizer cannot spell a JSON string opening quote or null as a token")

    def _first_tokens(self, texts: Sequence[str]) -> dict[int, list[int]]:
        """First token id -> full encoding, for options whose first token is not only whitespace."""
        out: dict[int, list[int]] = {}
        for t in texts:
            ids = self.tok.encode(t)
            if ids and self.vocab.pieces[ids[0]].strip():
                out.setdefault(ids[0], ids)
        return out

    def _starts(self, flat: str) -> dict[int, set[int]]:
        """Token -> end positions of its (left-stripped) piece anywhere in the document: the allowed
        first tokens of a value. Built once per document by enumerating substrings, not the vocab."""
        out: dict[int, set[int]] = {}
        n = len(flat)
        for s in range(n):
            if flat[s] == " ":
                continue
            for k in range(1, min(self.vocab.max_len, n - s) + 1):
                for tid in self.vocab.by_stripped.get(flat[s : s + k], ()):
                    out.setdefault(tid, set()).add(s + k)
        return out

    def _next(self, flat: str, ends: set[int]) -> dict[int, set[int]]:
        out: dict[int, set[int]] = {}
        for e in ends:
            for k in range(1, min(self.vocab.max_len, len(flat) - e) + 1):
                for tid in self.vocab.by_piece.get(flat[e : e + k], ()):
                    out.setdefault(tid, set()).add(e + k)
        return out

    def decode_fields(
        self, prefix_ids: list[int], fields: Sequence[FieldSpec], document: str
    ) -> tuple[list[int], list[GenField]]:
        """Generate `{"a": ..., "b": ...}` after `prefix_ids`. Returns the generated token ids (their
        decoded text is the model's JSON answer) and one GenField per field, in order."""
        flat = document.replace("\r", " ").replace("\n", " ")
        starts = self._starts(flat) if flat.strip() else {}
        ids = list(prefix_ids)
        gen_start = len(ids)
        out: list[GenField] = []
        pending = "{"  # forced text not yet fed: encoded together so the BPE looks natural
        for fs in fields:
            ids.extend(self.tok.encode(pending + json.dumps(fs.name) + ":"))
            lp = _log_softmax(self.logits_fn(ids))
            p_str = _logsumexp([float(lp[i]) for i in self.open_ids])
            p_null = _logsumexp([float(lp[i]) for i in self.null_first])
            norm = _logsumexp([p_str, p_null])
            if p_str > p_null and starts and (fs.scope_end is None or fs.scope_end > 0):
                opener = max(self.open_ids, key=lambda i: lp[i])
                limit = len(flat) if fs.scope_end is None else fs.scope_end
                value, v_lp, v_ids = self._value([*ids, opener], flat, starts, fs.max_tokens, limit)
                if value:
                    ids.append(opener)
                    ids.extend(v_ids)
                    total = p_str - norm + v_lp
                    out.append(GenField(fs.name, value, total, True, math.exp(min(0.0, total))))
                    pending = '", '
                    continue
            first = max(self.null_first, key=lambda i: lp[i])
            ids.extend(self.null_first[first])
            out.append(GenField(fs.name, None, p_null - norm, True, math.exp(p_null - norm)))
            pending = ", "
        ids.extend(self.tok.encode('"}' if pending == '", ' else "}"))
        return ids[gen_start:], out

    def _value(
        self, ids: list[int], flat: str, starts: dict[int, set[int]], max_tokens: int, limit: int
    ) -> tuple[str, float, list[int]]:
        """Greedy value tokens among those that keep it a substring of the document; stops when the
        model prefers closing the string (any token starting with a quote) or at `max_tokens`."""
        seq = list(ids)
        chosen: list[int] = []
        value, total = "", 0.0
        ends: set[int] = set()
        for step in range(max_tokens):
            lp = _log_softmax(self.logits_fn(seq))
            allowed = starts if step == 0 else self._next(flat, ends)
            if limit < len(flat):
                allowed = {t: e for t, ends_ in allowed.items() if (e := {x for x in ends_ if x <= limit})}
            close = _logsumexp([float(lp[i]) for i in self.vocab.closers]) if value.strip() else -math.inf
            best, best_lp = None, -math.inf
            for tid in allowed:
                if lp[tid] > best_lp:
                    best, best_lp = tid, float(lp[tid])
            if best is None or close >= best_lp:
                total += close if value.strip() and close > -math.inf else 0.0
                break
            chosen.append(best)
            seq.append(best)
            value += self.vocab.pieces[best]
            total += best_lp
            ends = allowed[best]
        return value.strip(), total, chosen


def parse_fields(text: str, names: Sequence[str]) -> dict[str, str | None] | None:
    """The first JSON object in `text` restricted to `names`; None if there is none (-> retry)."""
    start = text.find("{")
    while start >= 0:
        try:
            obj, _ = json.JSONDecoder().raw_decode(text[start:])
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        if isinstance(obj, dict):
            return {n: (None if obj.get(n) is None else str(obj.get(n))) for n in names}
        start = text.find("{", start + 1)
    return None


def flat_text(document: str) -> str:
    return " ".join(document.split())


def check_grounding(values: dict[str, str | None], document: str) -> dict[str, bool]:
    """A value is grounded when it appears verbatim (whitespace-normalized) in the document."""
    flat = flat_text(document)
    return {k: v is None or flat_text(v) in flat for k, v in values.items()}


def extract_generative(
    prompts: PromptSet,
    document: str,
    tok: TextTokenizer,
    logits_fn: LogitsFn,
    prefix_ids: list[int],
    free_text: str | None = None,
    vocabulary: Vocabulary | None = None,
) -> dict[str, Any]:
    """Parse a free-running answer if given; on failure (or none) decode under constraints (the retry)."""
    names = [f.name for f in prompts.fields]
    if free_text is not None:
        parsed = parse_fields(free_text, names)
        if parsed is not None:
            return {"values": parsed, "grounded": check_grounding(parsed, document), "retried": False}
    dec = ConstrainedDecoder(tok, logits_fn, vocabulary=vocabulary)
    specs = [FieldSpec(f.name, f.constraint.max_tokens) for f in prompts.fields]
    gen_ids, fields = dec.decode_fields(prefix_ids, specs, document)
    values = {f.name: f.value for f in fields}
    return {
        "values": values,
        "grounded": check_grounding(values, document),
        "retried": free_text is not None,
        "json": tok.decode(gen_ids),
        "fields": fields,
    }
