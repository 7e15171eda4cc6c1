from __future__ import annotations

import json

import pytest

from pipeline.config import Settings
from pipeline.contracts import DocKind, Envelope, Extraction, OcrResult
from pipeline.extract.stage import build_stage
from pipeline.runtime.local import LocalRunner
from pipeline.topics import DLQ, EXTRACTED
from tests.unit.extract.conftest import RECEIPT_LINES, make_ocr

PO_CHANGE = {
    "document_type": "po_change",
    "po_number": "PO-1001",
    "change_number": "3",
    "vendor_id": "V1",
    "currency": "EUR",
    "issued": "2024-05-01",
    "lines": [
        {
            "line_no": 1,
            "action": "change",
            "sku": "A-1",
            "description": "Bolts",
            "quantity": "10",
            "unit_price": "2.50",
            "need_by_date": "2024-06-01",
        }
    ],
}


def _env(ocr: OcrResult, n: int = 0) -> Envelope:
    return Envelope[OcrResult](
        event_id=f"e{n}",
        event_type="docs.ocr",
        document_id=ocr.blob.sha256,
        correlation_id="c",
        producer={"stage": "ocr", "version": "1"},
        payload=ocr,
    )


@pytest.fixture(scope="module")
def runner(extractor) -> LocalRunner:
    return LocalRunner(build_stage(Settings(), extractor=extractor))


def test_ocr_results_become_extractions_in_one_batch(runner: LocalRunner) -> None:
    docs = [make_ocr(RECEIPT_LINES, sha=c * 64) for c in "abc"]
    docs[2] = make_ocr(RECEIPT_LINES, kind=DocKind.unknown, sha="c" * 64)
    res = runner.run([_env(d, i) for i, d in enumerate(docs)])
    out = res.on(EXTRACTED)
    assert len(out) == 3 and not res.dead_letters
    for ev in out:
        ex = Extraction.model_validate(ev.payload.model_dump())
        assert ex.kind == DocKind.receipt and set(ex.fields) >= {"total", "date", "merchant"}
        assert ev.causation_id.startswith("e")


def test_po_change_json_maps_straight_to_fields(runner: LocalRunner) -> None:
    ocr = make_ocr([], kind=DocKind.po_change, sha="d" * 64)
    ocr.structured = PO_CHANGE
    (ev,) = runner.run([_env(ocr, 10)]).on(EXTRACTED)
    ex = ev.payload
    assert ex.kind == DocKind.po_change and ex.model.backend == "structured"
    assert ex.fields["po_number"].value == "PO-1001" and ex.fields["change_number"].value == "3"
    assert json.loads(ex.fields["changed_lines"].value)[0]["sku"] == "A-1"
    assert ex.structured == PO_CHANGE and ex.prompt_set.name == "po_change"


def test_bad_structured_payload_goes_to_dlq_without_content(runner: LocalRunner) -> None:
    ocr = make_ocr([], sha="e" * 64)
    ocr.structured = {"document_type": "secret-type-xyz", "lines": "nope"}
    good = make_ocr(RECEIPT_LINES, sha="f" * 64)
    res = runner.run([_env(ocr, 20), _env(good, 21)])
    assert len(res.on(EXTRACTED)) == 1  # the good document in the same batch is not lost
    (dl,) = [e for e in res.dead_letters if e.topic == DLQ]
    assert dl.event.payload.error == "unsupported structured document_type"
    assert "secret" not in dl.event.payload.model_dump_json().replace(dl.event.payload.original_b64, "")


def test_a_document_without_prompts_is_dead_lettered_with_the_reason(extractor) -> None:  # type: ignore[no-untyped-def]
    """Same typed error in the batch path as in extract_one: no retries for what cannot succeed."""
    from pipeline.extract.prompts import PromptError

    class NoPrompts:
        batch_size = extractor.batch_size

        def prepare(self, ocr: OcrResult) -> list:  # type: ignore[type-arg]
            raise PromptError("prompt set 'receipt' has no version '9'")

    res = LocalRunner(build_stage(Settings(), extractor=NoPrompts())).run([_env(make_ocr(RECEIPT_LINES), 30)])  # type: ignore[arg-type]
    (dl,) = [e for e in res.dead_letters if e.topic == DLQ]
    assert dl.event.payload.error.startswith("no prompts for this document")
    assert not res.on(EXTRACTED)
