from __future__ import annotations

import random

import pytest

from pipeline.extract.labels import date_span, examples_for_doc, tax_span, text_span, total_span
from pipeline.extract.prompts import load_prompt_set
from pipeline.extract.windows import LineRef, context_from_lines, context_from_ocr, load_tokenizer
from tests.unit.extract.conftest import RECEIPT_LINES, make_ocr


def _ctx(lines):
    return context_from_lines([LineRef(0, i, None, t) for i, t in enumerate(lines)])


def test_total_prefers_the_line_after_total_over_other_occurrences() -> None:
    ctx = _ctx(RECEIPT_LINES)
    sp = total_span(ctx, "RM3.50")
    assert ctx.text[sp.start : sp.end] == "3.50"
    line = ctx.line_of_char(sp.start)
    assert "TOTAL" in RECEIPT_LINES[line - 1]


def test_date_and_text_spans() -> None:
    ctx = _ctx(RECEIPT_LINES)
    sp = date_span(ctx, "27/10/2017")
    assert ctx.text[sp.start : sp.end] == "27/10/2017"
    sp = text_span(ctx, "NO. 31G&33G, JALAN SETIA INDAH X ,U13/X 40170 SETIA ALAM")
    assert (
        ctx.text[sp.start : sp.end].replace("\n", " ")
        == "NO. 31G&33G, JALAN SETIA INDAH X ,U13/X 40170 SETIA ALAM"
    )
    sp = text_span(ctx, "SANYU STATIONERY SH0P")  # OCR-vs-label spelling: fuzzy, snapped to words
    assert ctx.text[sp.start : sp.end] == "SANYU STATIONERY SHOP"
    assert text_span(ctx, "COMPLETELY DIFFERENT VENDOR NAME") is None


def test_weak_tax_label_needs_arithmetic_agreement() -> None:
    ctx = _ctx(RECEIPT_LINES)
    sp = tax_span(ctx, "3.50")
    assert ctx.text[sp.start : sp.end] == "0.20"  # 6% of 3.30
    without_summary = _ctx([t for t in RECEIPT_LINES if not t.startswith("SR @")])
    assert tax_span(without_summary, "3.50") is None  # no amount is 6%/10% of another


@pytest.fixture(scope="module")
def tok():
    from pipeline.extract.registry import resolve

    return load_tokenizer(resolve(verify=False).tokenizer_path)


def test_examples_point_at_the_answer_tokens(tok) -> None:
    ps = load_prompt_set("receipt")
    ctx = context_from_ocr(make_ocr(RECEIPT_LINES))
    labels = {"merchant": "SANYU STATIONERY SHOP", "date": "27/10/2017", "total": "3.50"}
    exs = examples_for_doc(tok, ps, "d", ctx, labels, random.Random(0), max_len=384, stride=128, p_absent=0.0)
    by_field = {e.field: e for e in exs}
    assert set(by_field) >= {"merchant", "date", "total"}
    e = by_field["date"]
    answer = tok.decode(e.input_ids[e.start : e.end + 1].tolist())
    assert answer.replace(" ", "") == "27/10/2017"


def test_reviewer_corrections_train_values_and_absence(tok) -> None:
    ps = load_prompt_set("receipt")
    ctx = context_from_ocr(make_ocr(RECEIPT_LINES))
    exs = examples_for_doc(
        tok,
        ps,
        "d",
        ctx,
        {"total": "3.50", "tax": None},
        random.Random(0),
        max_len=384,
        stride=128,
        explicit=True,
    )
    assert {e.field for e in exs} == {"total", "tax"}
    assert all(e.start == e.end == 0 for e in exs if e.field == "tax")
    assert all(e.start > 0 for e in exs if e.field == "total")
