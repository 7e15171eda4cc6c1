"""Label strings -> answer spans in the context text, and QA training examples from them.

Amounts and dates are matched among the same deterministic candidates the decoder uses (by value
for amounts), so training targets are exactly the spans serving can return. Free text (names,
addresses) is matched exactly, else by fuzzy alignment (labels often differ from OCR spelling).
Tax and currency have no human labels in SROIE: weak labels are derived (tax must be the GST/SST
share of the total; currency the first currency token) and documented as such in the model card.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from rapidfuzz import fuzz
from tokenizers import Tokenizer

from pipeline.contracts import BBox
from pipeline.extract.candidates import line_candidates, parse_amount
from pipeline.extract.prompts import PromptSet
from pipeline.extract.windows import (
    DocContext,
    build_windows,
    char_span_to_tokens,
    context_from_lines,
    field_context,
    map_span_to_field_context,
    question_ids,
    tokenize_context,
)

TOTAL_KW = re.compile(r"TOTAL|JUMLAH|AMOUNT DUE|GRAND|NETT|NET AMT|AMOUNT", re.IGNORECASE)
NOT_TOTAL_KW = re.compile(r"SUB|QTY|ITEM|EXCL|SAVING|DISC|GST\s*\d|TAX", re.IGNORECASE)
TAX_KW = re.compile(r"\b(GST|SST|TAX|VAT)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Span:
    start: int  # char offsets in DocContext.text
    end: int


def _amount_spans(ctx: DocContext, value: Decimal) -> list[tuple[int, Span]]:
    out = []
    for i, ref in enumerate(ctx.lines):
        for s, e in line_candidates("amount", ref.text):
            if parse_amount(ref.text[s:e]) == value:
                base = ctx.line_starts[i]
                out.append((i, Span(base + s, base + e)))
    return out


def total_span(ctx: DocContext, label: str) -> Span | None:
    """The labelled total on the line that says TOTAL (or right after it), else its first occurrence."""
    value = parse_amount(label)
    if value is None:
        return None
    hits = _amount_spans(ctx, value)
    if not hits:
        return None

    def rank(hit: tuple[int, Span]) -> int:
        i = hit[0]
        here = ctx.lines[i].text
        if TOTAL_KW.search(here) and not NOT_TOTAL_KW.search(here):
            return 0
        if (
            i > 0
            and TOTAL_KW.search(ctx.lines[i - 1].text)
            and not NOT_TOTAL_KW.search(ctx.lines[i - 1].text)
        ):
            return 1
        return 2

    return min(hits, key=lambda h: (rank(h), h[0]))[1]


def date_span(ctx: DocContext, label: str) -> Span | None:
    want = re.sub(r"[()\s]", "", label).upper()
    for i, ref in enumerate(ctx.lines):
        for s, e in line_candidates("date", ref.text):
            if re.sub(r"\s", "", ref.text[s:e]).upper() == want:
                return Span(ctx.line_starts[i] + s, ctx.line_starts[i] + e)
    return None


def text_span(ctx: DocContext, label: str, min_score: float = 88.0) -> Span | None:
    """Exact (case/space-insensitive) match in the flattened text, else the best fuzzy alignment."""
    flat = ctx.text.replace("\n", " ").upper()
    want = " ".join(label.split()).upper()
    if not want:
        return None
    pos = flat.find(want)
    if pos >= 0:
        return Span(pos, pos + len(want))
    al = fuzz.partial_ratio_alignment(want, flat)
    if al is None or al.score < min_score:
        return None
    s, e = al.dest_start, al.dest_end
    s, e = _snap(flat, s, "left"), _snap(flat, e, "right")
    while s < e and flat[s] == " ":
        s += 1
    while e > s and flat[e - 1] == " ":
        e -= 1
    return Span(s, e) if e > s else None


def _snap(flat: str, pos: int, side: str) -> int:
    """Move a cut that splits a word to the word edge that keeps the larger part of the word in/out."""
    if pos <= 0 or pos >= len(flat) or not (flat[pos - 1].isalnum() and flat[pos].isalnum()):
        return pos
    left, right = pos, pos
    while left > 0 and flat[left - 1].isalnum():
        left -= 1
    while right < len(flat) and flat[right].isalnum():
        right += 1
    inside = (right - pos) if side == "left" else (pos - left)
    keep_word = inside * 2 >= (right - left)
    if side == "left":
        return left if keep_word else right
    return right if keep_word else left


def tax_span(ctx: DocContext, total_label: str | None) -> Span | None:
    """Weak label: an amount on a tax line equal to 6%/10% of another amount on the receipt
    (the net) or to the 6%/10% share of the total (tax-inclusive)."""
    total = parse_amount(total_label or "")
    if total is None or total <= 0:
        return None
    rates = (Decimal("0.06"), Decimal("0.10"))
    amounts = {
        v
        for ref in ctx.lines
        for s, e in line_candidates("amount", ref.text)
        if (v := parse_amount(ref.text[s:e])) is not None and 0 < v <= total
    }
    expected = [total * r / (1 + r) for r in rates] + [a * r for a in amounts for r in rates]
    for i, ref in enumerate(ctx.lines):
        near = " ".join(r.text for r in ctx.lines[max(0, i - 2) : i + 1])  # summary tables: keyword above
        if not TAX_KW.search(near):
            continue
        for s, e in line_candidates("amount", ref.text):
            v = parse_amount(ref.text[s:e])
            if v is not None and v > 0 and any(abs(v - x) <= Decimal("0.02") for x in expected):
                return Span(ctx.line_starts[i] + s, ctx.line_starts[i] + e)
    return None


def currency_span(ctx: DocContext) -> Span | None:
    """Weak label: the first currency code or symbol in the document."""
    for i, ref in enumerate(ctx.lines):
        spans = line_candidates("currency", ref.text)
        if spans:
            s, e = spans[0]
            return Span(ctx.line_starts[i] + s, ctx.line_starts[i] + e)
    return None


def label_spans(ctx: DocContext, labels: Mapping[str, str | None]) -> dict[str, Span]:
    """Receipt field -> answer span for every field we can locate."""
    out: dict[str, Span | None] = {
        "merchant": text_span(ctx, m) if (m := labels.get("merchant")) else None,
        "merchant_address": text_span(ctx, a) if (a := labels.get("merchant_address")) else None,
        "date": date_span(ctx, d) if (d := labels.get("date")) else None,
        "total": total_span(ctx, t) if (t := labels.get("total")) else None,
        "tax": tax_span(ctx, labels.get("total")),
        "currency": currency_span(ctx),
    }
    return {k: v for k, v in out.items() if v is not None}


def field_span(kind: str, ctx: DocContext, label: str) -> Span | None:
    """Generic label -> span by constraint kind (used for feedback corrections of any field)."""
    if kind == "amount":
        value = parse_amount(label)
        hits = _amount_spans(ctx, value) if value is not None else []
        return hits[0][1] if hits else None
    if kind == "date":
        return date_span(ctx, label) or text_span(ctx, label, min_score=95.0)
    return text_span(ctx, label, min_score=92.0)


def _squash(text: str) -> str:
    return re.sub(r"\s", "", text).upper()


def all_field_spans(kind: str, ctx: DocContext, label: str) -> list[Span]:
    """Every place the labelled value is printed, as serving would find it: candidates of the field's
    kind (amounts compared by value, others by text), or exact/fuzzy text for free-text fields."""
    if kind == "amount":
        value = parse_amount(label)
        return [sp for _, sp in _amount_spans(ctx, value)] if value is not None else []
    if kind != "text":
        want = _squash(label)
        return [
            Span(ctx.line_starts[i] + s, ctx.line_starts[i] + e)
            for i, ref in enumerate(ctx.lines)
            for s, e in line_candidates(kind, ref.text)
            if _squash(ref.text[s:e]) == want
        ]
    flat, want = ctx.text.replace("\n", " ").upper(), " ".join(label.split()).upper()
    hits = [Span(m.start(), m.start() + len(want)) for m in re.finditer(re.escape(want), flat)] if want else []
    if hits:
        return hits
    fuzzy = text_span(ctx, label)
    return [fuzzy] if fuzzy else []


def _distance(ctx: DocContext, span: Span, where: tuple[int, BBox]) -> float:
    ref = ctx.lines[ctx.line_of_char(span.start)]
    page, box = where
    if ref.bbox is None:
        return float("inf")
    if ref.page != page:
        return 1e9
    cx, cy = (ref.bbox.x0 + ref.bbox.x1) / 2, (ref.bbox.y0 + ref.bbox.y1) / 2
    # the label box may be a word inside a longer OCR line: distance to the box, not its centre
    dx = max(box.x0 - cx, 0.0, cx - box.x1) if not (ref.bbox.x0 <= box.x1 and box.x0 <= ref.bbox.x1) else 0.0
    dy = max(box.y0 - cy, 0.0, cy - box.y1)
    return dx + dy


def generic_label_spans(
    prompts: PromptSet,
    ctx: DocContext,
    labels: Mapping[str, str | None],
    boxes: Mapping[str, tuple[int, BBox]],
) -> dict[str, Span]:
    """Label strings of generated documents -> spans; where a value is printed twice (a subtotal equal
    to the total, the vendor in header and footer) the ground-truth box picks the occurrence."""
    out: dict[str, Span] = {}
    for fp in prompts.fields:
        label = labels.get(fp.name)
        if not label:
            continue
        hits = all_field_spans(fp.constraint.kind, ctx, label)
        if not hits:
            continue
        where = boxes.get(fp.name)
        out[fp.name] = min(hits, key=lambda sp: _distance(ctx, sp, where)) if where else hits[0]
    return out


WEAK_FIELDS = frozenset({"tax", "currency"})


@dataclass
class QaExample:
    input_ids: np.ndarray
    token_type_ids: np.ndarray
    start: int  # window token index of the answer start; 0 (CLS) = no answer in this window
    end: int
    field: str
    doc_id: str


def _drop_answer_lines(ctx: DocContext, span: Span, value_text: str) -> DocContext:
    """The document without any line holding the answer: teaches the model to say 'absent'."""
    first, last = ctx.line_of_char(span.start), ctx.line_of_char(max(span.start, span.end - 1))
    needle = value_text.strip().upper()
    keep = [r for i, r in enumerate(ctx.lines) if not (first <= i <= last) and needle not in r.text.upper()]
    return context_from_lines(keep)


def examples_for_doc(
    tok: Tokenizer,
    prompts: PromptSet,
    doc_id: str,
    ctx: DocContext,
    labels: dict[str, str | None],
    rng: random.Random,
    *,
    max_len: int,
    stride: int,
    p_absent: float = 0.12,
    p_neg_window: float = 0.3,
    weak_keep: float = 0.3,
    explicit: bool = False,
    boxes: Mapping[str, tuple[int, BBox]] | None = None,
    p_absent_field: float = 0.5,
) -> list[QaExample]:
    """QA examples (positives, some negative windows, some answer-removed documents) for one document.

    `explicit`: labels are reviewer corrections (any field, None = absent) rather than SROIE keys.
    """
    tokenize_context(tok, ctx)
    if explicit:
        spans: dict[str, Span] = {}
    elif prompts.name == "receipt":
        spans = label_spans(ctx, labels)
    else:
        spans = generic_label_spans(prompts, ctx, labels, boxes or {})
    contexts: dict[str, DocContext] = {}
    out: list[QaExample] = []
    for fp in prompts.fields:
        q = question_ids(tok, fp.question)
        if explicit:
            if fp.name not in labels:
                continue
            if labels[fp.name] is None:  # a reviewer said: this field is not on the document
                fctx = field_context(tok, ctx, fp.constraint, contexts)
                for w in build_windows(doc_id, fp.name, q, fctx, max_len=max_len, stride=stride):
                    out.append(QaExample(w.input_ids, w.token_type_ids, 0, 0, fp.name, doc_id))
                continue
            span = field_span(fp.constraint.kind, ctx, str(labels[fp.name]))
        else:
            span = spans.get(fp.name)
        if span is None:
            if not explicit and fp.name in labels and labels[fp.name] is None and prompts.name != "receipt":
                # generated documents: the truth says the field is not printed -> an "absent" example
                fctx = field_context(tok, ctx, fp.constraint, contexts)
                if fctx.text and rng.random() < p_absent_field:
                    for w in build_windows(doc_id, fp.name, q, fctx, max_len=max_len, stride=stride):
                        out.append(QaExample(w.input_ids, w.token_type_ids, 0, 0, fp.name, doc_id))
            continue  # unlabelled or not locatable: no example (absence of a label is not absence)
        if not explicit and fp.name in WEAK_FIELDS and rng.random() > weak_keep:
            continue
        fctx = field_context(tok, ctx, fp.constraint, contexts)
        mapped = map_span_to_field_context(fctx, span.start, span.end)
        if mapped is None:
            continue  # outside what serving reads for this field: serving could not answer it either
        toks = char_span_to_tokens(fctx, *mapped)
        if toks is None:
            continue
        for w in build_windows(doc_id, fp.name, q, fctx, max_len=max_len, stride=stride):
            inside = w.ctx_start <= toks[0] and toks[1] < w.ctx_end
            if inside:
                s, e = w.ctx_offset + toks[0] - w.ctx_start, w.ctx_offset + toks[1] - w.ctx_start
            elif rng.random() < p_neg_window:
                s = e = 0
            else:
                continue
            out.append(QaExample(w.input_ids, w.token_type_ids, s, e, fp.name, doc_id))
        if fp.name not in WEAK_FIELDS and rng.random() < p_absent:
            gone = tokenize_context(tok, _drop_answer_lines(ctx, span, ctx.text[span.start : span.end]))
            gctx = field_context(tok, gone, fp.constraint, {})
            for w in build_windows(doc_id, fp.name, q, gctx, max_len=max_len, stride=stride):
                out.append(QaExample(w.input_ids, w.token_type_ids, 0, 0, fp.name, doc_id))
    return out
