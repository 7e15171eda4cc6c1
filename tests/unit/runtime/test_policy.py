"""Stage logic runs without a broker: decode, idempotency, retries and dead letters via LocalRunner."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import pytest

from pipeline.contracts import (
    BlobRef,
    DeadLetter,
    DocumentIngested,
    EngineInfo,
    Envelope,
    OcrResult,
    Producer,
    deterministic_event_id,
)
from pipeline.runtime import Emit, LocalRunner, PermanentError, StageSpec, TransientError
from pipeline.runtime.stage import encode_envelope
from pipeline.topics import DLQ, INGESTED, OCR, STATUS

DOC = "ab" * 32


def ingested(name: str = "a.pdf", doc: str = DOC) -> Envelope[DocumentIngested]:
    blob = BlobRef(uri=f"file:///blobs/{doc}", sha256=doc, size=10, media_type="application/pdf")
    return Envelope[DocumentIngested](
        event_id=deterministic_event_id(doc, "ingest"), event_type=INGESTED, document_id=doc,
        correlation_id="corr-1", producer=Producer(stage="ingest", version="1"),
        payload=DocumentIngested(blob=blob, filename=name))


class Flaky:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self, event: Envelope[Any]) -> Sequence[Emit]:
        self.calls += 1
        if self.calls <= self.failures:
            raise TransientError("dependency unavailable")
        return ok_handler(event)


def ok_handler(event: Envelope[Any]) -> Sequence[Emit]:
    if event.payload.filename == "bad.pdf":
        raise PermanentError("cannot read this file")
    if event.payload.filename == "bug.pdf":
        raise KeyError("unexpected")
    res = OcrResult(blob=event.payload.blob, engine=EngineInfo(name="t", version="1"))
    return [Emit(OCR, event.follow(OCR, res, Producer(stage="ocr", version="1")))]


def stage(handler: Any = ok_handler) -> StageSpec:
    return StageSpec("ocr", "1", INGESTED, DocumentIngested, handler=handler)


def test_output_follows_the_input_with_deterministic_ids() -> None:
    r1 = LocalRunner(stage()).run([ingested()])
    r2 = LocalRunner(stage()).run([ingested()])
    (out1,), (out2,) = r1.on(OCR), r2.on(OCR)
    assert out1.event_id == out2.event_id
    assert out1.causation_id == ingested().event_id
    assert out1.correlation_id == "corr-1" and out1.document_id == DOC
    status = r1.on(STATUS)[0].payload
    assert status.state == "done" and status.next_topic == OCR


def test_replay_is_skipped_by_the_ledger() -> None:
    runner = LocalRunner(stage())
    assert len(runner.run([ingested()]).on(OCR)) == 1
    again = runner.run([ingested(), ingested()])
    assert again.on(OCR) == [] and len(again.skipped) == 2
    assert {s.payload.state for s in again.on(STATUS)} == {"skipped_duplicate"}


def test_duplicates_within_one_batch_are_handled_once() -> None:
    res = LocalRunner(stage()).run([ingested(), ingested()])
    assert len(res.on(OCR)) == 1 and len(res.skipped) == 1


@pytest.mark.parametrize(("raw", "kind"), [
    (b"\x00\x01garbage", "undecodable"),
    (b"[1, 2]", "undecodable"),
    (b'{"schema_version": "1.0", "event_id": "x"}', "schema_invalid"),
    (b'{"event_id": "x"}', "schema_invalid"),
    (None, "undecodable"),
])
def test_poison_is_dead_lettered_with_the_original_and_the_rest_flows(raw: bytes | None, kind: str) -> None:
    res = LocalRunner(stage()).run([raw, ingested()])
    assert len(res.on(OCR)) == 1
    (dl,) = [e.event.payload for e in res.dead_letters if e.topic == DLQ]
    assert isinstance(dl, DeadLetter) and dl.error_kind == kind and dl.stage == "ocr"
    assert base64.b64decode(dl.original_b64) == (raw or b"")
    assert dl.error and "\n" not in dl.error


def test_unknown_major_version_goes_to_dlq() -> None:
    data = json.loads(encode_envelope(ingested()))
    data["schema_version"] = "2.0"
    res = LocalRunner(stage()).run([json.dumps(data).encode()])
    (dl,) = [e.event.payload for e in res.dead_letters if e.topic == DLQ]
    assert dl.error_kind == "unknown_major_version" and "major version 2" in dl.error


def test_newer_minor_version_with_unknown_fields_is_accepted() -> None:
    data = json.loads(encode_envelope(ingested()))
    data["schema_version"] = "1.7"
    data["payload"]["brand_new_field"] = {"x": 1}
    res = LocalRunner(stage()).run([json.dumps(data).encode()])
    assert len(res.on(OCR)) == 1 and not res.dead_letters


def test_permanent_and_unexpected_errors_dead_letter_with_reason() -> None:
    res = LocalRunner(stage()).run([ingested("bad.pdf", "cd" * 32), ingested("bug.pdf", "ef" * 32)])
    dls = {e.event.document_id: e.event.payload for e in res.dead_letters if e.topic == DLQ}
    assert dls["cd" * 32].error == "cannot read this file"
    assert dls["ef" * 32].error_type == "KeyError" and dls["ef" * 32].error_kind == "handler_error"
    states = {e.event.payload.state for e in res.dead_letters if e.topic == STATUS}
    assert states == {"dead_lettered"} and res.on(STATUS) == []


def test_transient_errors_retry_then_succeed() -> None:
    flaky = Flaky(failures=2)
    res = LocalRunner(stage(flaky), retries=3).run([ingested()])
    assert len(res.on(OCR)) == 1 and flaky.calls == 3


def test_transient_errors_exhausted_go_to_dlq_and_are_not_marked_handled() -> None:
    flaky = Flaky(failures=10)
    runner = LocalRunner(stage(flaky), retries=2)
    res = runner.run([ingested()])
    (dl,) = [e.event.payload for e in res.dead_letters if e.topic == DLQ]
    assert dl.error_kind == "transient_exhausted" and dl.attempts == 3
    assert runner.ledger == set()  # a replay after the outage is handled, not skipped


def test_batch_handler_gets_all_events_and_per_event_failures() -> None:
    seen: list[int] = []

    def batch(events: Sequence[Envelope[Any]]) -> list[Sequence[Emit] | Exception]:
        seen.append(len(events))
        return [PermanentError("no") if e.payload.filename == "bad.pdf" else ok_handler(e) for e in events]

    spec = StageSpec("ocr", "1", INGESTED, DocumentIngested, batch_handler=batch)
    res = LocalRunner(spec).run([ingested("a.pdf", "01" * 32), ingested("bad.pdf", "02" * 32),
                                 ingested("c.pdf", "03" * 32)])
    assert seen == [3] and len(res.on(OCR)) == 2 and len([d for d in res.dead_letters if d.topic == DLQ]) == 1


def test_stage_needs_exactly_one_handler() -> None:
    with pytest.raises(ValueError):
        StageSpec("x", "1", INGESTED, DocumentIngested)
