from __future__ import annotations

import itertools

import numpy as np
import pytest

from pipeline.extract.train import base_model_dir
from pipeline.extract.windows import (
    CLS_ID,
    SEP_ID,
    build_windows,
    char_span_to_tokens,
    context_from_ocr,
    load_tokenizer,
    pad_batch,
    question_ids,
    tokenize_context,
    window_spans,
)
from tests.unit.extract.conftest import RECEIPT_LINES, make_ocr


@pytest.fixture(scope="module")
def tok():
    from pipeline.extract.registry import resolve

    return load_tokenizer(resolve(verify=False).tokenizer_path)


@pytest.mark.parametrize("n, room, stride", [(0, 10, 3), (5, 10, 3), (100, 30, 10), (1000, 128, 64)])
def test_window_spans_cover_everything_with_overlap(n: int, room: int, stride: int) -> None:
    spans = window_spans(n, room, stride)
    covered = np.zeros(n, bool)
    for s, e in spans:
        assert e - s <= room
        covered[s:e] = True
    assert covered.all()
    for (s1, e1), (s2, _) in itertools.pairwise(spans):
        assert s1 < s2 < e1  # progress, and consecutive windows overlap
        assert e1 - s2 <= stride


def test_context_keeps_line_offsets_and_pages(tok) -> None:
    ocr = make_ocr(["HELLO  WORLD", "", "TOTAL 9.00"], pages=2)
    ctx = tokenize_context(tok, context_from_ocr(ocr))
    assert ctx.text == "HELLO WORLD\nTOTAL 9.00\nHELLO WORLD\nTOTAL 9.00"
    assert [r.page for r in ctx.lines] == [0, 0, 1, 1] and [r.order for r in ctx.lines] == [0, 2, 0, 2]
    pos = ctx.text.index("9.00")
    a, b = char_span_to_tokens(ctx, pos, pos + 4)
    assert ctx.text[ctx.offsets[a][0] : ctx.offsets[b][1]] == "9.00"
    assert ctx.token_line[a] == 1


def test_windows_are_question_then_context(tok) -> None:
    ctx = tokenize_context(tok, context_from_ocr(make_ocr(RECEIPT_LINES * 6)))
    q = question_ids(tok, "What is the total?")
    ws = build_windows("d", "total", q, ctx, max_len=128, stride=32)
    assert len(ws) > 2
    for w in ws:
        assert w.length <= 128 and w.input_ids[0] == CLS_ID and w.input_ids[-1] == SEP_ID
        assert w.input_ids[len(q) + 1] == SEP_ID and w.token_type_ids[w.ctx_offset :].all()
        assert not w.token_type_ids[: w.ctx_offset].any()
        assert (w.input_ids[w.ctx_offset : -1] == ctx.token_ids[w.ctx_start : w.ctx_end]).all()
    batch = pad_batch(ws)
    assert batch["input_ids"].shape == (len(ws), max(w.length for w in ws))
    assert batch["attention_mask"].sum() == sum(w.length for w in ws)


def test_huge_documents_get_a_bounded_number_of_windows(tok) -> None:
    ctx = tokenize_context(tok, context_from_ocr(make_ocr(RECEIPT_LINES, pages=200)))
    ws = build_windows("d", "total", [2054], ctx, max_len=384, stride=128, max_windows=24)
    assert len(ws) == 24
    assert ws[0].ctx_start == 0 and ws[-1].ctx_end == len(ctx.token_ids)  # head and tail kept


def test_base_tokenizer_is_shipped_with_the_package() -> None:
    assert (base_model_dir() / "tokenizer.json").is_file()


def test_field_context_header_scope_keeps_the_documents_own_offsets(tok) -> None:
    from pipeline.extract.prompts import AnswerConstraint
    from pipeline.extract.windows import field_context, line_start_tokens, map_span_to_field_context

    ctx = tokenize_context(tok, context_from_ocr(make_ocr(RECEIPT_LINES)))
    cache: dict = {}
    head = field_context(tok, ctx, AnswerConstraint("text", 24, 2, scope_lines=3), cache)
    assert [r.text for r in head.lines] == RECEIPT_LINES[:3]
    assert ctx.text.startswith(head.text)
    assert field_context(tok, ctx, AnswerConstraint("text", 64, 6, scope_lines=3), cache) is head  # shared
    assert field_context(tok, ctx, AnswerConstraint("text", 24, 2), cache) is ctx  # unscoped: whole text
    # a span inside the header maps to itself; one below it is outside what the field reads
    a = ctx.text.index("40170")
    assert map_span_to_field_context(head, a, a + 5) == (a, a + 5)
    b = ctx.text.index("TEL:")
    assert map_span_to_field_context(head, b, b + 4) is None
    # the amount focus keeps its own, shorter coordinates
    focus = field_context(tok, ctx, AnswerConstraint("amount", 10, 1), cache)
    t = ctx.text.index("FINAL TOTAL\n3.50") + len("FINAL TOTAL\n")
    s, e = map_span_to_field_context(focus, t, t + 4)
    assert focus.text[s:e] == "3.50"
    starts = line_start_tokens(head)
    assert starts[0] and starts.sum() == 3
