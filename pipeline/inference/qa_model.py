"""A minimal extractive-QA DocumentModel over any BERT-style ONNX QA model (start/end logits).

A reference plug for the batcher (`inference.document_model=pipeline.inference.stage:reference_model`):
the worker tests run it on a tiny model; production runs the Extractor (extractor_model.py). It does
the same kind of work per document (one question per field, stride windows, a padded batch run, best
span per field) but has no calibration, no answer constraints and no prompt files, so its answers are
only as good as the model's raw spans.
"""

from __future__ import annotations

import bisect
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from pipeline.contracts import (
    DocKind,
    ExtractedField,
    Extraction,
    FieldStatus,
    ModelRef,
    OcrResult,
    PromptSetRef,
    Provenance,
)
from pipeline.contracts.fieldnames import INVOICE_FIELDS, RECEIPT_FIELDS
from pipeline.runtime.errors import PermanentError

CLS_ID, SEP_ID, PAD_ID = 101, 102, 0
FIELDS: dict[DocKind, tuple[str, ...]] = {DocKind.receipt: RECEIPT_FIELDS, DocKind.invoice: INVOICE_FIELDS}
PROMPT_SET = PromptSetRef(
    name="reference-qa", version="1", checksum="0" * 64
)  # built-in questions, no prompt file behind them


@dataclass(frozen=True)
class Context:
    text: str
    token_ids: np.ndarray
    offsets: np.ndarray  # [n, 2] char offsets of each token
    line_starts: list[int]
    line_refs: list[tuple[int, int]]  # (page, reading order) per line


@dataclass
class Window:
    """[CLS] question [SEP] context[ctx_start:ctx_end] [SEP]; `length` drives length bucketing."""

    doc_id: str
    field: str
    input_ids: np.ndarray
    ctx_offset: int
    ctx_start: int
    ctx_end: int
    context: Context

    @property
    def length(self) -> int:
        return int(self.input_ids.shape[0])


@dataclass(frozen=True)
class Span:
    start: int  # context token index, inclusive
    end: int  # inclusive
    score: float


def question(field: str) -> str:
    return f"What is the {field.replace('_', ' ')}?"


def window_spans(n: int, room: int, stride: int) -> list[tuple[int, int]]:
    """[start, end) slices of at most `room` tokens; consecutive slices overlap by `stride` tokens."""
    if n == 0:
        return [(0, 0)]
    spans, start = [], 0
    while True:
        end = min(n, start + room)
        spans.append((start, end))
        if end >= n:
            return spans
        start = max(start + 1, end - stride)


def pad(windows: Sequence[Window]) -> dict[str, np.ndarray]:
    n = max(w.length for w in windows)
    ids = np.full((len(windows), n), PAD_ID, dtype=np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for i, w in enumerate(windows):
        ids[i, : w.length] = w.input_ids
        mask[i, : w.length] = 1
        types[i, w.ctx_offset : w.length] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def best_span(
    start_logits: np.ndarray, end_logits: np.ndarray, lo: int, hi: int, max_answer: int, top_k: int = 20
) -> Span:
    """Best start+end logit span inside [lo, hi) with end >= start and at most max_answer tokens,
    searched over the top_k starts x top_k ends (cheap enough to run on the batcher thread)."""
    s = start_logits[lo:hi]
    e = end_logits[lo:hi]
    if len(s) == 0:
        return Span(0, -1, float("-inf"))
    k = min(top_k, len(s))
    si = np.argpartition(-s, k - 1)[:k]
    ei = np.argpartition(-e, k - 1)[:k]
    total = s[si][:, None] + e[ei][None, :]
    ok = (ei[None, :] >= si[:, None]) & (ei[None, :] - si[:, None] < max_answer)
    if not ok.any():
        a = int(np.argmax(s))
        return Span(lo + a, lo + a, float(s[a] + e[a]))
    total = np.where(ok, total, -np.inf)
    a, b = divmod(int(np.argmax(total)), k)
    return Span(lo + int(si[a]), lo + int(ei[b]), float(total[a, b]))


class ReferenceQaModel:
    """prepare/infer/finish over an ONNX QA model folder (`model.onnx` + `tokenizer.json`)."""

    def __init__(
        self,
        model_path: Path,
        session_factory: Callable[[Path], Any],
        *,
        max_seq_len: int = 384,
        doc_stride: int = 128,
        max_answer_tokens: int = 32,
        max_windows_per_field: int = 16,
    ) -> None:
        onnx = model_path if model_path.suffix == ".onnx" else model_path / "model.onnx"
        tok_path = onnx.parent / "tokenizer.json"
        if not onnx.is_file() or not tok_path.is_file():
            raise FileNotFoundError(f"{model_path}: need model.onnx and tokenizer.json side by side")
        self.tokenizer = Tokenizer.from_file(str(tok_path))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.session = session_factory(onnx)
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.max_seq_len = max_seq_len
        self.doc_stride = doc_stride
        self.max_answer_tokens = max_answer_tokens
        self.max_windows_per_field = max_windows_per_field
        card_path = onnx.parent / "model_card.json"
        card = json.loads(card_path.read_text()) if card_path.is_file() else {}
        self.model_ref = ModelRef(
            name=str(card.get("name", onnx.parent.name)),
            version=str(card.get("version", "0")),
            variant=str(card.get("variant", "fp32")),
            checksum=card.get("checksum"),
        )
        self._questions: dict[str, list[int]] = {}

    def _context(self, ocr: OcrResult) -> Context:
        texts, refs, starts, pos = [], [], [], 0
        for page in sorted(ocr.pages, key=lambda p: p.index):
            for line in sorted(page.lines, key=lambda ln: ln.order):
                text = " ".join(line.text.split())
                if text:
                    starts.append(pos)
                    refs.append((page.index, line.order))
                    texts.append(text)
                    pos += len(text) + 1
        full = "\n".join(texts)
        enc = self.tokenizer.encode(full, add_special_tokens=False)
        return Context(
            full,
            np.asarray(enc.ids, dtype=np.int64),
            np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2),
            starts,
            refs,
        )

    def _q(self, field: str) -> list[int]:
        if field not in self._questions:
            self._questions[field] = list(
                self.tokenizer.encode(question(field), add_special_tokens=False).ids
            )
        return self._questions[field]

    def prepare(self, ocr: OcrResult) -> list[Window]:
        """Windows for every field question; long documents are split by stride, never truncated
        silently (beyond max_windows_per_field the head and tail are kept and a warning is added)."""
        fields = FIELDS.get(ocr.kind, FIELDS[DocKind.receipt])
        ctx = self._context(ocr)
        out: list[Window] = []
        for name in fields:
            q = self._q(name)
            room = self.max_seq_len - len(q) - 3
            if room < 16:
                raise PermanentError(f"question for {name} does not fit max_seq_len {self.max_seq_len}")
            spans = window_spans(len(ctx.token_ids), room, self.doc_stride)
            if len(spans) > self.max_windows_per_field:
                half = self.max_windows_per_field // 2
                spans = spans[: self.max_windows_per_field - half] + spans[len(spans) - half :]
            prefix = np.asarray([CLS_ID, *q, SEP_ID], dtype=np.int64)
            for s, e in spans:
                ids = np.concatenate([prefix, ctx.token_ids[s:e], np.asarray([SEP_ID], dtype=np.int64)])
                out.append(Window(ocr.blob.sha256, name, ids, len(prefix), s, e, ctx))
        return out

    def infer(self, windows: list[Window]) -> list[Span]:
        """One padded run over windows from any number of documents."""
        feeds = {k: v for k, v in pad(windows).items() if k in self.input_names}
        start, end = self.session.run(["start_logits", "end_logits"], feeds)
        spans = []
        for i, w in enumerate(windows):
            sp = best_span(start[i], end[i], w.ctx_offset, w.length - 1, self.max_answer_tokens)
            spans.append(
                Span(sp.start - w.ctx_offset + w.ctx_start, sp.end - w.ctx_offset + w.ctx_start, sp.score)
            )
        return spans

    def finish(self, ocr: OcrResult, windows: list[Window], scores: list[Span]) -> Extraction:
        t0 = time.perf_counter()
        best: dict[str, Span] = {}
        for w, sp in zip(windows, scores, strict=True):
            if sp.end >= sp.start and (w.field not in best or sp.score > best[w.field].score):
                best[w.field] = sp
        fields: dict[str, ExtractedField] = {}
        for name in FIELDS.get(ocr.kind, FIELDS[DocKind.receipt]):
            found = best.get(name)
            ctx = windows[0].context if windows else None
            if found is None or ctx is None or len(ctx.offsets) == 0:
                fields[name] = ExtractedField(
                    name=name, value=None, confidence=0.0, status=FieldStatus.absent
                )
                continue
            a, b = int(ctx.offsets[found.start, 0]), int(ctx.offsets[found.end, 1])
            line = max(0, bisect.bisect_right(ctx.line_starts, a) - 1)
            page, order = ctx.line_refs[line]
            conf = float(1 / (1 + np.exp(-found.score / 4)))  # squashed raw logit sum, uncalibrated
            fields[name] = ExtractedField(
                name=name,
                value=ctx.text[a:b],
                confidence=conf,
                provenance=[Provenance(page=page, line_index=order, source_text=ctx.text[a:b])],
            )
        return Extraction(
            blob=ocr.blob,
            kind=ocr.kind if ocr.kind in FIELDS else DocKind.receipt,
            prompt_set=PROMPT_SET,
            model=self.model_ref,
            fields=fields,
            timings_ms={"finish": (time.perf_counter() - t0) * 1000},
        )
