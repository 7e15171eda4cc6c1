"""Document text -> tokenized question+context windows, shared by training and serving.

The context is the OCR lines in reading order joined by newlines; it is tokenized ONCE per
document and sliced into windows for every question, so adding a field costs only the forward
pass. Training builds its examples with exactly these functions, so serving sees the same inputs.
Only `tokenizers` and numpy are needed (no torch).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from pipeline.contracts import BBox, OcrResult
from pipeline.extract.candidates import is_candidate_kind, line_candidates
from pipeline.extract.prompts import AnswerConstraint

CLS_ID, SEP_ID, PAD_ID = 101, 102, 0


@dataclass(frozen=True)
class LineRef:
    """Where a context line came from: page, reading-order index, box."""

    page: int
    order: int
    bbox: BBox | None
    text: str


@dataclass
class DocContext:
    """The document text as the model sees it, with char offsets back to OCR lines."""

    text: str
    line_starts: list[int]
    lines: list[LineRef]
    token_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    offsets: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    token_line: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    parent: DocContext | None = None  # set on focused contexts: the whole document
    parent_lines: list[int] = field(default_factory=list)  # index in parent of each line
    quarantined: list[LineRef] = field(default_factory=list)  # instruction-like lines taken out

    @property
    def root(self) -> DocContext:
        return self.parent or self

    def line_of_char(self, pos: int) -> int:
        return max(0, bisect.bisect_right(self.line_starts, pos) - 1)

    def line_span(self, idx: int) -> tuple[int, int]:
        start = self.line_starts[idx]
        return start, start + len(self.lines[idx].text)


@dataclass
class QaWindow:
    """One model input: [CLS] question [SEP] context slice [SEP]. Self-contained so a batcher can
    pack windows of many documents into one padded run; `length` is the unpadded length."""

    doc_id: str
    field: str
    input_ids: np.ndarray  # int64 [length]
    token_type_ids: np.ndarray  # int64 [length]
    ctx_offset: int  # index in the window where the context slice begins
    ctx_start: int  # first context token (index into DocContext.token_ids)
    ctx_end: int  # one past the last context token
    context: DocContext

    @property
    def length(self) -> int:
        return int(self.input_ids.shape[0])


def load_tokenizer(path: Path) -> Tokenizer:
    tok = Tokenizer.from_file(str(path))
    tok.no_truncation()
    tok.no_padding()
    return tok


def context_from_ocr(ocr: OcrResult, max_chars: int | None = None) -> DocContext:
    """Join lines page by page in reading order. `max_chars` bounds pathological inputs."""
    refs: list[LineRef] = []
    for page in sorted(ocr.pages, key=lambda p: p.index):
        for line in sorted(page.lines, key=lambda ln: ln.order):
            text = " ".join(line.text.split())  # no newlines/tabs inside a line
            if text:
                refs.append(LineRef(page=page.index, order=line.order, bbox=line.bbox, text=text))
    return context_from_lines(refs, max_chars)


def context_from_lines(refs: list[LineRef], max_chars: int | None = None) -> DocContext:
    starts: list[int] = []
    kept: list[LineRef] = []
    pos = 0
    for ref in refs:
        if max_chars is not None and pos + len(ref.text) > max_chars:
            break
        starts.append(pos)
        kept.append(ref)
        pos += len(ref.text) + 1
    return DocContext(text="\n".join(r.text for r in kept), line_starts=starts, lines=kept)


def focus_context(tok: Tokenizer, ctx: DocContext, kind: str) -> DocContext:
    """Only the lines holding a candidate of `kind` (amount, date, ...), each with the line before it
    (labels such as TOTAL often sit on their own line above the amount). Much shorter windows for
    the candidate-ranked fields, so the model reads less text per question."""
    keep: set[int] = set()
    for i, ref in enumerate(ctx.lines):
        if line_candidates(kind, ref.text):
            keep.update((i - 1, i) if i > 0 else (i,))
    idx = sorted(keep)
    sub = context_from_lines([ctx.lines[i] for i in idx])
    sub.parent, sub.parent_lines = ctx, idx
    return tokenize_context(tok, sub)


def head_context(tok: Tokenizer, ctx: DocContext, n_lines: int) -> DocContext:
    """The first `n_lines` lines: a prefix of the document, so char offsets are the parent's own."""
    idx = list(range(min(n_lines, len(ctx.lines))))
    sub = context_from_lines([ctx.lines[i] for i in idx])
    sub.parent, sub.parent_lines = ctx, idx
    return tokenize_context(tok, sub)


def field_context(
    tok: Tokenizer,
    ctx: DocContext,
    constraint: AnswerConstraint,
    cache: dict[str, DocContext],
    focus: bool = True,
) -> DocContext:
    """The text one field reads: candidate lines for amounts/dates/codes, the header for scoped text
    fields, else the whole document. Shared by fields with the same need (`cache`), and used alike
    by training and serving so both see the same inputs."""
    if focus and is_candidate_kind(constraint.kind):
        if constraint.kind not in cache:
            cache[constraint.kind] = focus_context(tok, ctx, constraint.kind)
        return cache[constraint.kind]
    if constraint.scope_lines is not None and constraint.scope_lines < len(ctx.lines):
        key = f"head:{constraint.scope_lines}"
        if key not in cache:
            cache[key] = head_context(tok, ctx, constraint.scope_lines)
        return cache[key]
    return ctx


def map_span_to_field_context(sub: DocContext, start: int, end: int) -> tuple[int, int] | None:
    """A char span of the parent document in a field context's coordinates (None: not inside it)."""
    if sub.parent is None:
        return start, end
    parent = sub.root
    first, last = parent.line_of_char(start), parent.line_of_char(max(start, end - 1))
    if sub.parent_lines[: last + 1] == list(range(last + 1)):  # a head context: same offsets
        return (start, end) if first <= last < len(sub.parent_lines) else None
    return map_span_to_focus(sub, start, end)


def line_start_tokens(ctx: DocContext) -> np.ndarray:
    """Boolean mask: token i is the first token of its line."""
    tl = ctx.token_line
    mask = np.ones(len(tl), dtype=bool)
    if len(tl) > 1:
        mask[1:] = tl[1:] != tl[:-1]
    return mask


def line_end_tokens(ctx: DocContext) -> np.ndarray:
    """Boolean mask: token i is the last token of its line."""
    tl = ctx.token_line
    mask = np.ones(len(tl), dtype=bool)
    if len(tl) > 1:
        mask[:-1] = tl[:-1] != tl[1:]
    return mask


def map_span_to_focus(sub: DocContext, start: int, end: int) -> tuple[int, int] | None:
    """A single-line char span of the parent document in a focused context's coordinates."""
    parent = sub.root
    li = parent.line_of_char(start)
    if parent.line_of_char(max(start, end - 1)) != li or li not in sub.parent_lines:
        return None
    k = sub.parent_lines.index(li)
    off = start - parent.line_starts[li]
    return sub.line_starts[k] + off, sub.line_starts[k] + off + (end - start)


def char_span_to_tokens(ctx: DocContext, start: int, end: int) -> tuple[int, int] | None:
    """Inclusive token range covering chars [start, end), or None if no token overlaps."""
    offs = ctx.offsets
    if len(offs) == 0:
        return None
    hit = np.nonzero((offs[:, 1] > start) & (offs[:, 0] < end))[0]
    if len(hit) == 0:
        return None
    return int(hit[0]), int(hit[-1])


def tokenize_context(tok: Tokenizer, ctx: DocContext) -> DocContext:
    """Tokenize the context once; record each token's char offsets and line."""
    if not ctx.text:
        return ctx
    enc = tok.encode(ctx.text, add_special_tokens=False)
    ids = np.asarray(enc.ids, dtype=np.int64)
    offs = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
    starts = np.asarray(ctx.line_starts, dtype=np.int64)
    token_line = np.searchsorted(starts, offs[:, 0], side="right") - 1 if len(offs) else np.zeros(0, np.int64)
    ctx.token_ids, ctx.offsets, ctx.token_line = ids, offs, np.maximum(token_line, 0)
    return ctx


def question_ids(tok: Tokenizer, question: str) -> list[int]:
    return list(tok.encode(question, add_special_tokens=False).ids)


def window_spans(
    n_tokens: int, room: int, stride: int, token_line: np.ndarray | None = None
) -> list[tuple[int, int]]:
    """[start, end) context slices of at most `room` tokens, consecutive ones overlapping by `stride`.

    Windows start at a line boundary when one lies in the overlap, so a line is rarely cut.
    """
    if n_tokens == 0:
        return [(0, 0)]
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(n_tokens, start + room)
        spans.append((start, end))
        if end >= n_tokens:
            return spans
        nxt = max(start + 1, end - stride)
        if token_line is not None:
            # move forward to the first token of a line inside the overlap, if any
            for j in range(nxt, end):
                if j > 0 and token_line[j] != token_line[j - 1]:
                    nxt = j
                    break
        start = nxt


def build_windows(
    doc_id: str,
    field_name: str,
    q_ids: list[int],
    ctx: DocContext,
    *,
    max_len: int,
    stride: int,
    max_windows: int | None = None,
) -> list[QaWindow]:
    """All windows of one question over one document (head and tail kept if over `max_windows`)."""
    room = max_len - len(q_ids) - 3
    if room < 16:
        raise ValueError(f"question for {field_name} too long for max_len {max_len}")
    spans = window_spans(len(ctx.token_ids), room, stride, ctx.token_line)
    if max_windows is not None and len(spans) > max_windows:
        head = max_windows - max_windows // 2
        spans = spans[:head] + spans[len(spans) - max_windows // 2 :]
    prefix = [CLS_ID, *q_ids, SEP_ID]
    out: list[QaWindow] = []
    for s, e in spans:
        ids = np.concatenate(
            [np.asarray(prefix, np.int64), ctx.token_ids[s:e], np.asarray([SEP_ID], np.int64)]
        )
        types = np.zeros_like(ids)
        types[len(prefix) :] = 1
        out.append(
            QaWindow(
                doc_id=doc_id,
                field=field_name,
                input_ids=ids,
                token_type_ids=types,
                ctx_offset=len(prefix),
                ctx_start=s,
                ctx_end=e,
                context=ctx,
            )
        )
    return out


def pad_batch(windows: list[QaWindow]) -> dict[str, np.ndarray]:
    """Right-pad to the longest window: the model's three int64 inputs."""
    n = max((w.length for w in windows), default=0)
    ids = np.full((len(windows), n), PAD_ID, dtype=np.int64)
    types = np.zeros((len(windows), n), dtype=np.int64)
    mask = np.zeros((len(windows), n), dtype=np.int64)
    for i, w in enumerate(windows):
        ids[i, : w.length] = w.input_ids
        types[i, : w.length] = w.token_type_ids
        mask[i, : w.length] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
