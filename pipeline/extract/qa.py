"""Extractive QA backend on ONNX Runtime: fixed question + document text -> span, confidence, provenance.

Serving needs onnxruntime, tokenizers and numpy only. The API is split so a batcher can pack
windows of many documents into one run:

    windows = ex.prepare(ocr)          # tokenized question+context windows (CPU, cheap)
    scores  = ex.infer(windows)        # ONE onnxruntime run over a padded batch
    result  = ex.finish(ocr, windows, scores)

Values are always spans of the document text (the model cannot produce anything else), and the
document is only ever the context segment, so text inside it cannot act as an instruction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from pipeline.contracts import (
    DocKind,
    ExtractedField,
    Extraction,
    FieldStatus,
    OcrResult,
    Provenance,
)
from pipeline.extract.amount_prior import prior_by_char_span
from pipeline.extract.calibration import Platt
from pipeline.extract.candidates import is_candidate_kind, line_candidates, parse_amount
from pipeline.extract.classify import classify_text
from pipeline.extract.injection import model_context, quarantine_warnings
from pipeline.extract.line_items import line_items_for
from pipeline.extract.prompts import FieldPrompt, PromptSet, for_kind
from pipeline.extract.registry import ModelEntry
from pipeline.extract.windows import (
    DocContext,
    QaWindow,
    build_windows,
    char_span_to_tokens,
    field_context,
    line_end_tokens,
    line_start_tokens,
    load_tokenizer,
    pad_batch,
    question_ids,
    tokenize_context,
)

SessionFactory = Callable[[Path], ort.InferenceSession]
PRIOR_FIELDS = frozenset({"total"})  # fields whose amount candidates get the deterministic total prior
TOP_K = 20


def cpu_session(path: Path, threads: int | None = None) -> ort.InferenceSession:
    """A plain CPU session with full graph optimization (the batcher may pass a provider-aware factory).

    Intra-op threads do not busy-wait between kernels: the extract worker shares its cores with the
    other stages and the broker, and spinning doubled the CPU spent per window there (47 -> 104 ms
    per window measured on the 2-core machine with every stage running), starving its neighbours.
    """
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class SpanScores:
    """Start/end logits of one window (length = the window's unpadded length)."""

    start_logits: np.ndarray
    end_logits: np.ndarray


@dataclass(frozen=True)
class Candidate:
    score: float
    prob: float  # softmax share within its window, null included
    null_prob: float
    tok_start: int  # context token indices (inclusive)
    tok_end: int


@dataclass(frozen=True)
class FieldDecision:
    """A field's best answer (or none) and the raw, uncalibrated confidence of that decision."""

    best: Candidate | None
    raw_confidence: float
    found: bool
    context: DocContext | None = None  # what the token indices of `best` refer to


def resolve_kind(ocr: OcrResult, text: str) -> DocKind:
    if ocr.kind != DocKind.unknown:
        return ocr.kind
    return classify_text(text)[0]


def assemble_extraction(
    ocr: OcrResult,
    prompts: PromptSet,
    model: ModelEntry,
    ctx: DocContext,
    fields: dict[str, ExtractedField],
    timings_ms: dict[str, float],
) -> Extraction:
    """The Extraction event of either backend: its fields, the line items read from the layout and
    where instruction-like lines were quarantined."""
    return Extraction(
        blob=ocr.blob,
        kind=prompts.kind,
        prompt_set=prompts.ref,
        model=model.ref,
        fields=fields,
        line_items=line_items_for(ocr, prompts.kind, fields),
        timings_ms=dict(timings_ms),
        warnings=quarantine_warnings(ctx.quarantined),
    )


def length_batches(lengths: Sequence[int], max_batch: int, max_tokens: int | None = None) -> list[list[int]]:
    """Indices grouped shortest first into runs of at most `max_batch` items and `max_tokens` padded
    tokens (items x longest); an item longer than the budget runs alone. Pure."""
    out: list[list[int]] = []
    current: list[int] = []
    for k in sorted(range(len(lengths)), key=lambda k: lengths[k]):
        over = max_tokens is not None and lengths[k] * (len(current) + 1) > max_tokens
        if current and (len(current) == max_batch or over):
            out.append(current)
            current = []
        current.append(k)
    if current:
        out.append(current)
    return out


def _softmax_with_null(null: float, scores: np.ndarray) -> tuple[float, np.ndarray]:
    allv = np.concatenate([[null], scores])
    m = allv.max()
    e = np.exp(allv - m)
    e /= e.sum()
    return float(e[0]), e[1:]


def candidate_token_spans(ctx: DocContext, kind: str) -> list[tuple[int, int]]:
    """Deterministic candidates (amounts, dates, ...) of the whole document as context token spans."""
    out: set[tuple[int, int]] = set()
    for i, ref in enumerate(ctx.lines):
        base = ctx.line_starts[i]
        for s, e in line_candidates(kind, ref.text):
            toks = char_span_to_tokens(ctx, base + s, base + e)
            if toks is not None:
                out.add(toks)
    return sorted(out)


def _top(scores: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """The TOP_K best-scoring allowed positions."""
    k = min(TOP_K, len(allowed))
    return allowed[np.argpartition(-scores[allowed], k - 1)[:k]]


def _free_spans(
    ctx: DocContext, w: QaWindow, st: np.ndarray, en: np.ndarray, fp: FieldPrompt
) -> list[tuple[int, int]]:
    """Top-k start x top-k end pairs inside the window's context, within the length/line limits
    (starts only at line starts for `align: line_start`, and ends only at line ends for `align: line`)."""
    n = w.ctx_end - w.ctx_start
    if n <= 0:
        return []
    cs, ce = st[w.ctx_offset : w.ctx_offset + n], en[w.ctx_offset : w.ctx_offset + n]
    starts_ok = np.arange(n)
    ends_ok = np.arange(n)
    if fp.constraint.align in ("line_start", "line"):
        starts_ok = np.nonzero(line_start_tokens(ctx)[w.ctx_start : w.ctx_end])[0]
        if w.ctx_start > 0 and ctx.token_line[w.ctx_start] == ctx.token_line[w.ctx_start - 1]:
            starts_ok = starts_ok[starts_ok > 0]  # a window cut mid-line: its first token is not a line start
    if fp.constraint.align == "line":
        ends_ok = np.nonzero(line_end_tokens(ctx)[w.ctx_start : w.ctx_end])[0]
        if w.ctx_end < len(ctx.token_line) and ctx.token_line[w.ctx_end - 1] == ctx.token_line[w.ctx_end]:
            ends_ok = ends_ok[ends_ok < n - 1]  # a window cut mid-line: its last token is not a line end
    if len(starts_ok) == 0 or len(ends_ok) == 0:
        return []
    starts = _top(cs, starts_ok)
    ends = _top(ce, ends_ok)
    lines = ctx.token_line
    out = []
    for s in starts:
        for e in ends:
            if e < s or e - s + 1 > fp.constraint.max_tokens:
                continue
            a, b = w.ctx_start + int(s), w.ctx_start + int(e)
            if lines[b] - lines[a] + 1 > fp.constraint.max_lines:
                continue
            out.append((a, b))
    return out


def amount_prior_tokens(ctx: DocContext, weights: Sequence[float]) -> dict[tuple[int, int], float]:
    """Deterministic total prior (amount_prior) per candidate token span of `ctx`, best candidate = 0."""
    root = ctx.root
    by_char = prior_by_char_span(root, weights)
    out: dict[tuple[int, int], float] = {}
    for k, ref in enumerate(ctx.lines):
        li = ctx.parent_lines[k] if ctx.parent is not None else k
        for s, e in line_candidates("amount", ref.text):
            val = by_char.get((root.line_starts[li] + s, root.line_starts[li] + e))
            toks = char_span_to_tokens(ctx, ctx.line_starts[k] + s, ctx.line_starts[k] + e)
            if val is not None and toks is not None:
                out[toks] = val
    top = max(out.values(), default=0.0)
    return {k: v - top for k, v in out.items()}


def in_window(w: QaWindow, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The context token spans (inclusive) that lie wholly inside window `w`."""
    return [(a, b) for a, b in spans if w.ctx_start <= a and b < w.ctx_end]


def span_scores(w: QaWindow, sc: SpanScores, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Start + end logit of each span of `w` (context token indices -> the window's positions)."""
    shift = w.ctx_offset - w.ctx_start
    return sc.start_logits[[a + shift for a, _ in spans]] + sc.end_logits[[b + shift for _, b in spans]]


def decode_field(
    fp: FieldPrompt,
    windows: Sequence[QaWindow],
    scores: Sequence[SpanScores],
    null_bias: float = 0.0,
    prior: dict[tuple[int, int], float] | None = None,
) -> FieldDecision:
    """Best span over all windows of one field, restricted to the field's answer constraint.

    A span wins only if it beats the window's no-answer score (+ `null_bias`); otherwise the field is
    absent and the confidence is that of 'absent'.
    """
    if not windows:
        return FieldDecision(None, 1.0, False)
    ctx = windows[0].context
    kind = fp.constraint.kind
    doc_cands = candidate_token_spans(ctx, kind) if is_candidate_kind(kind) else None
    best: Candidate | None = None
    absent_p = 1.0  # P(no answer): the lowest no-answer share of any window that had candidates
    for w, sc in zip(windows, scores, strict=True):
        st, en = sc.start_logits, sc.end_logits
        null = float(st[0] + en[0]) + null_bias
        spans = in_window(w, doc_cands) if doc_cands is not None else _free_spans(ctx, w, st, en, fp)
        if not spans:
            continue
        vals = span_scores(w, sc, spans)
        if prior:
            vals = vals + np.asarray([prior.get(sp, 0.0) for sp in spans])
        p_null, probs = _softmax_with_null(null, vals)
        j = int(np.argmax(vals))
        cand = Candidate(float(vals[j]), float(probs[j]), p_null, spans[j][0], spans[j][1])
        if cand.score > null and (best is None or cand.score > best.score):
            best = cand
        absent_p = min(absent_p, p_null)
    if best is None:
        return FieldDecision(None, absent_p, False, ctx)
    return FieldDecision(best, best.prob, True, ctx)


TAX_RATE_CEILING = Decimal("0.30")  # no VAT/GST/sales tax in force is above 27 %


def _amount_of(d: FieldDecision) -> Decimal | None:
    if d.best is None or d.context is None:
        return None
    return parse_amount(span_text(d.context, d.best.tok_start, d.best.tok_end)[0])


def reconcile_tax(
    decisions: dict[str, FieldDecision], windows: Sequence[QaWindow], scores: Sequence[SpanScores]
) -> dict[str, FieldDecision]:
    """Invoice arithmetic: when subtotal and total were both read, the tax is their difference. The
    model often declines to answer the tax (its line reads "VAT 19 %" next to a number it has no anchor
    for); if that difference is printed among the tax question's amount candidates, that printed
    number is the answer (the best-scoring occurrence, for provenance). Confidence: that of the weaker
    of subtotal and total, which the answer rests on. Nothing changes unless both are found and the
    difference is a plausible tax (0 <= tax <= 30 % of the subtotal)."""
    sub, tax, total = decisions.get("subtotal"), decisions.get("tax"), decisions.get("total")
    if sub is None or tax is None or total is None or not (sub.found and total.found):
        return decisions
    s, t = _amount_of(sub), _amount_of(total)
    if s is None or t is None or s <= 0:
        return decisions
    diff = t - s
    if not Decimal(0) <= diff <= TAX_RATE_CEILING * s:
        return decisions
    current = _amount_of(tax) if tax.found else None
    if current is not None and abs(current - diff) <= Decimal("0.01"):
        return decisions
    best: Candidate | None = None
    ctx: DocContext | None = None
    for w, sc in zip(windows, scores, strict=True):
        if w.field != "tax":
            continue
        ctx = w.context
        matches = [
            (a, b)
            for a, b in in_window(w, candidate_token_spans(ctx, "amount"))
            if (value := parse_amount(span_text(ctx, a, b)[0])) is not None and abs(value - diff) <= Decimal("0.01")
        ]
        if matches:
            vals = span_scores(w, sc, matches)
            j = int(np.argmax(vals))
            if best is None or float(vals[j]) > best.score:
                best = Candidate(float(vals[j]), 0.0, 0.0, *matches[j])
    if best is None or ctx is None:
        return decisions
    out = dict(decisions)
    out["tax"] = FieldDecision(best, min(sub.raw_confidence, total.raw_confidence), True, ctx)
    return out


def _root_span(d: FieldDecision) -> tuple[int, int] | None:
    if d.best is None or d.context is None:
        return None
    ctx = d.context
    a, b = int(ctx.offsets[d.best.tok_start][0]), int(ctx.offsets[d.best.tok_end][1])
    if ctx.parent is None:
        return a, b
    k = ctx.line_of_char(a)
    li = ctx.parent_lines[k]
    shift = ctx.root.line_starts[li] - ctx.line_starts[k]
    return a + shift, b + shift


def dedupe_spans(decisions: dict[str, FieldDecision]) -> dict[str, FieldDecision]:
    """Two fields never answer with the same piece of text (a tax equal to the total line, an address
    that is the shop name): the more confident field keeps it, the others become absent."""
    owner: dict[tuple[int, int], str] = {}
    for name, d in sorted(decisions.items(), key=lambda kv: -kv[1].raw_confidence):
        span = _root_span(d)
        if span is None:
            continue
        if span in owner:
            decisions[name] = FieldDecision(None, 1.0 - d.raw_confidence, False, d.context)
        else:
            owner[span] = name
    return decisions


def span_text(ctx: DocContext, tok_start: int, tok_end: int) -> tuple[str, int, int]:
    a, b = int(ctx.offsets[tok_start][0]), int(ctx.offsets[tok_end][1])
    return ctx.text[a:b].replace("\n", " "), a, b


def provenance(ctx: DocContext, char_start: int, char_end: int) -> list[Provenance]:
    first, last = ctx.line_of_char(char_start), ctx.line_of_char(max(char_start, char_end - 1))
    out = []
    for i in range(first, last + 1):
        ref = ctx.lines[i]
        out.append(Provenance(page=ref.page, bbox=ref.bbox, line_index=ref.order, source_text=ref.text))
    return out


class Extractor:
    """The default extractor: a fine-tuned encoder answering each fixed prompt with a document span."""

    def __init__(
        self,
        model: ModelEntry,
        *,
        session_factory: SessionFactory = cpu_session,
        max_len: int | None = None,
        stride: int | None = None,
        max_windows: int = 24,
        max_chars: int = 200_000,
        batch_size: int = 16,
        max_batch_tokens: int | None = 256,
        use_prior: bool = True,
    ) -> None:
        self.model = model
        self.session_factory = session_factory
        self.max_len = int(max_len or model.card.get("max_len", 384))
        self.stride = int(stride or model.card.get("stride", 128))
        self.max_windows = max_windows
        self.max_chars = max_chars
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self.tokenizer = load_tokenizer(model.tokenizer_path)
        cal = model.card.get("calibration", {})
        self.calibration = {k: Platt(float(v["a"]), float(v["b"])) for k, v in cal.items()}
        self.null_bias = {k: float(v) for k, v in model.card.get("null_bias", {}).items()}
        self._questions: dict[str, list[int]] = {}
        self.focus = bool(model.card.get("focused_context", True))
        prior = model.card.get("amount_prior")
        self.amount_prior: list[float] | None = list(prior["weights"]) if use_prior and prior else None

    @cached_property
    def session(self) -> ort.InferenceSession:
        return self.session_factory(self.model.onnx_path)

    @cached_property
    def _input_names(self) -> set[str]:
        return {i.name for i in self.session.get_inputs()}

    # -- 1. prepare -------------------------------------------------------------------------------
    def context(self, ocr: OcrResult) -> DocContext:
        """The text the model reads: instruction-like lines are quarantined first, so they can neither
        be an answer nor sit next to one (they are reported in `Extraction.warnings`)."""
        return tokenize_context(self.tokenizer, model_context(ocr, self.max_chars))

    def prompts_for(self, ocr: OcrResult, ctx: DocContext) -> PromptSet:
        return for_kind(resolve_kind(ocr, ctx.text))

    def prepare(self, ocr: OcrResult, ctx: DocContext | None = None) -> list[QaWindow]:
        """Every question's windows over this document. The text is tokenized once; candidate-ranked
        fields (amounts, dates, ...) read a focused context of just their candidate lines, shared by
        all fields of the same kind."""
        ctx = ctx or self.context(ocr)
        if not ctx.text:
            return []
        prompts = self.prompts_for(ocr, ctx)
        contexts: dict[str, DocContext] = {}
        out: list[QaWindow] = []
        for fp in prompts.fields:
            q = self._questions.get(fp.question)
            if q is None:
                q = self._questions[fp.question] = question_ids(self.tokenizer, fp.question)
            fctx = field_context(self.tokenizer, ctx, fp.constraint, contexts, focus=self.focus)
            if not fctx.text:
                continue  # no candidate anywhere: the field is absent without running the model
            out.extend(
                build_windows(
                    ocr.blob.sha256,
                    fp.name,
                    q,
                    fctx,
                    max_len=self.max_len,
                    stride=self.stride,
                    max_windows=self.max_windows,
                )
            )
        return out

    # -- 2. infer ---------------------------------------------------------------------------------
    def infer(self, windows: Sequence[QaWindow]) -> list[SpanScores]:
        """One onnxruntime run over the padded batch (windows may come from many documents)."""
        if not windows:
            return []
        feed = {k: v for k, v in pad_batch(list(windows)).items() if k in self._input_names}
        start, end = self.session.run(["start_logits", "end_logits"], feed)
        return [
            SpanScores(start[i, : w.length].astype(np.float32), end[i, : w.length].astype(np.float32))
            for i, w in enumerate(windows)
        ]

    # -- 3. finish --------------------------------------------------------------------------------
    def calibrate(self, field: str, raw: float) -> float:
        cal = self.calibration.get(field) or self.calibration.get("*")
        return min(1.0, max(0.0, cal(raw) if cal else raw))

    def decide(
        self, prompts: PromptSet, windows: Sequence[QaWindow], scores: Sequence[SpanScores]
    ) -> dict[str, FieldDecision]:
        by_field: dict[str, list[int]] = {}
        for i, w in enumerate(windows):
            by_field.setdefault(w.field, []).append(i)
        out: dict[str, FieldDecision] = {}
        for fp in prompts.fields:
            idx = by_field.get(fp.name, [])
            prior = None
            if self.amount_prior is not None and fp.name in PRIOR_FIELDS and idx:
                prior = amount_prior_tokens(windows[idx[0]].context, self.amount_prior)
            out[fp.name] = decode_field(
                fp,
                [windows[i] for i in idx],
                [scores[i] for i in idx],
                self.null_bias.get(fp.name, 0.0),
                prior,
            )
        return dedupe_spans(reconcile_tax(out, windows, scores))

    def finish(
        self,
        ocr: OcrResult,
        windows: Sequence[QaWindow],
        scores: Sequence[SpanScores],
        timings_ms: dict[str, float] | None = None,
    ) -> Extraction:
        """Best span per field with calibrated confidence and provenance (absent when nothing beats null)."""
        ctx = windows[0].context.root if windows else self.context(ocr)
        prompts = self.prompts_for(ocr, ctx)
        decisions = self.decide(prompts, windows, scores)
        flat = " ".join(ref.text for ref in ctx.lines)
        fields: dict[str, ExtractedField] = {}
        for name, d in decisions.items():
            conf = self.calibrate(name, d.raw_confidence)
            if d.best is None:
                fields[name] = ExtractedField(
                    name=name, value=None, confidence=conf, status=FieldStatus.absent
                )
                continue
            fctx = d.context or ctx
            value, a, b = span_text(fctx, d.best.tok_start, d.best.tok_end)
            fields[name] = ExtractedField(
                name=name,
                value=value,
                confidence=conf,
                status=FieldStatus.found,
                provenance=provenance(fctx, a, b),
                grounded=value in flat,
            )
        return assemble_extraction(ocr, prompts, self.model, ctx, fields, timings_ms or {})

    def score(self, windows: Sequence[QaWindow]) -> list[SpanScores]:
        """Every window's scores, in padded runs of similar length (shortest first) that hold at most
        `batch_size` windows and `max_batch_tokens` padded tokens (on a CPU only short windows are
        cheaper per sequence in a batch; docs/inference.md)."""
        scores: list[Any] = [None] * len(windows)
        for idx in length_batches([w.length for w in windows], self.batch_size, self.max_batch_tokens):
            for k, s in zip(idx, self.infer([windows[k] for k in idx]), strict=True):
                scores[k] = s
        return scores

    # -- convenience ------------------------------------------------------------------------------
    def extract(self, ocr: OcrResult) -> Extraction:
        t0 = time.perf_counter()
        windows = self.prepare(ocr)
        t1 = time.perf_counter()
        scores = self.score(windows)
        t2 = time.perf_counter()
        result = self.finish(ocr, windows, scores)
        t3 = time.perf_counter()
        result.timings_ms = {
            "prepare": round((t1 - t0) * 1e3, 2),
            "infer": round((t2 - t1) * 1e3, 2),
            "finish": round((t3 - t2) * 1e3, 2),
            "windows": float(len(windows)),
        }
        return result
