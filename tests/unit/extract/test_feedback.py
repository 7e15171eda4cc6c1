from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.contracts import BlobRef, Correction, DocKind, Feedback
from pipeline.extract.pipeline_train import FeedbackError, feedback_docs, not_worse, read_feedback
from tests.unit.extract.conftest import RECEIPT_LINES, make_ocr


def _feedback(sha: str, corrections: list[Correction], kind: DocKind = DocKind.receipt) -> Feedback:
    return Feedback(
        kind=kind,
        corrections=corrections,
        reviewer="r1",
        at="2024-05-01T10:00:00Z",
        source=BlobRef(uri="file:///x", sha256=sha, size=1, media_type="image/png"),
        outcome="approved",
    )


def test_feedback_events_become_explicit_training_documents(tmp_path: Path) -> None:
    ocr_dir = tmp_path / "ocr"
    ocr_dir.mkdir()
    (ocr_dir / f"{'a' * 64}.json").write_text(make_ocr(RECEIPT_LINES).model_dump_json())
    events = [
        _feedback(
            "a" * 64,
            [
                Correction(field="total", before="10.00", after="3.50"),
                Correction(field="tax", before="0.20", after=None),
            ],
        ),
        _feedback("b" * 64, [Correction(field="total", before="1", after="2")]),  # OCR not stored
        _feedback("a" * 64, []),
        _feedback("a" * 64, [Correction(field="po_number", before=None, after="PO-1")], DocKind.po_change),
    ]
    path = tmp_path / "fb.jsonl"
    # bare payloads and envelopes are both accepted
    path.write_text(
        "\n".join(
            [
                events[0].model_dump_json(),
                json.dumps({"payload": json.loads(events[1].model_dump_json())}),
                events[2].model_dump_json(),
                events[3].model_dump_json(),
                "",
            ]
        )
    )
    docs, stats = feedback_docs(read_feedback(path), ocr_dir)
    assert stats == {"events": 4, "used": 1, "no_ocr": 1, "no_corrections": 1, "unsupported_kind": 1}
    (doc,) = docs
    assert doc.explicit and doc.labels == {"total": "3.50", "tax": None} and doc.prompt_set == "receipt"


def test_unreadable_feedback_is_a_typed_error(tmp_path: Path) -> None:
    bad = tmp_path / "fb.jsonl"
    bad.write_text('{"kind": "receipt"}\n')
    with pytest.raises(FeedbackError, match=":1: not a Feedback"):
        read_feedback(bad)
    with pytest.raises(FeedbackError, match="no such"):
        read_feedback(tmp_path / "missing.jsonl")


def test_promotion_requires_not_worse_overall_and_per_field() -> None:
    cur = {"fields": {"total": {"exact_match": 0.90}, "date": {"exact_match": 0.95}}}
    better = {"fields": {"total": {"exact_match": 0.94}, "date": {"exact_match": 0.945}}}
    trade = {"fields": {"total": {"exact_match": 0.99}, "date": {"exact_match": 0.90}}}
    worse = {"fields": {"total": {"exact_match": 0.89}, "date": {"exact_match": 0.95}}}
    assert not_worse(better, cur) and not not_worse(trade, cur) and not not_worse(worse, cur)
