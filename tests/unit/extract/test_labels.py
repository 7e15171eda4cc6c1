from __future__ import annotations

import random

import pytest

from pipeline.contracts import DocKind
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


def test_generated_document_labels_pick_the_occurrence_at_the_truth_box(tok) -> None:
    from pipeline.contracts import BBox
    from pipeline.extract.labels import generic_label_spans

    lines = ["ACME GmbH", "Invoice INV-7", "Subtotal", "100.00", "Tax", "0.00", "Total", "100.00", "ACME GmbH"]
    ocr = make_ocr(lines, kind=DocKind.invoice)
    ctx = context_from_ocr(ocr)
    ps = load_prompt_set("invoice")
    # rows are 40 px apart from y=10 (conftest.make_ocr): row 7 holds the total, row 8 the footer name
    boxes = {"total": (0, BBox(x0=10, y0=290, x1=60, y1=320)), "vendor": (0, BBox(x0=10, y0=330, x1=90, y1=360))}
    labels = {"total": "100.00", "subtotal": "100.00", "vendor": "ACME GmbH", "po_number": None}
    spans = generic_label_spans(ps, ctx, labels, boxes)
    assert ctx.line_of_char(spans["total"].start) == 7
    assert ctx.line_of_char(spans["subtotal"].start) == 3  # no box: the first occurrence
    assert ctx.line_of_char(spans["vendor"].start) == 8
    assert "po_number" not in spans
    exs = examples_for_doc(tok, ps, "inv", ctx, labels, random.Random(0), max_len=384, stride=128,
                           p_absent=0.0, boxes=boxes, p_absent_field=1.0)
    po = [e for e in exs if e.field == "po_number"]
    assert po and all(e.start == e.end == 0 for e in po)  # truth says not printed: taught as absent


def test_injected_copies_keep_their_labels_and_never_point_at_the_injection(tok) -> None:
    from pipeline.extract.injection import with_injection

    ps = load_prompt_set("receipt")
    ctx = context_from_ocr(make_ocr(RECEIPT_LINES))
    rng = random.Random(3)
    labels = {"merchant": "SANYU STATIONERY SHOP", "date": "27/10/2017", "total": "3.50"}
    for _ in range(20):
        inj = with_injection(ctx, rng)
        assert len(inj.lines) == len(ctx.lines) + 1
        assert sum(r.order == -1 for r in inj.lines) == 1
        exs = examples_for_doc(tok, ps, "d", inj, labels, rng, max_len=384, stride=128, p_absent=0.0)
        positives = {e.field: e for e in exs if e.start and e.field in labels}
        assert set(positives) == set(labels)
        for name, e in positives.items():
            answer = tok.decode(e.input_ids[e.start : e.end + 1].tolist())
            assert answer.replace(" ", "").upper() == labels[name].replace(" ", "").upper()
