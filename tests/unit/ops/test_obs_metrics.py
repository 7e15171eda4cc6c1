"""Metric families: helpers feed the right series; the exporter serves them over HTTP."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from pipeline.contracts import (
    BlobRef,
    Decision,
    DocKind,
    DocumentIngested,
    Envelope,
    ExtractedField,
    Extraction,
    FieldStatus,
    ModelRef,
    NormalizedDocument,
    Outcome,
    PolicyRef,
    Producer,
    PromptSetRef,
)
from pipeline.observability import Metrics, exported_names, start_from_settings, start_metrics_server
from pipeline.runtime import Emit, LocalRunner, PermanentError, StageSpec
from pipeline.topics import DECIDED, DLQ, EXTRACTED, INGESTED
from tests.metrics_support import val

SHA = "ab" * 32
BLOB = BlobRef(uri="file:///x", sha256=SHA, size=3, media_type="application/pdf")


@pytest.fixture
def m() -> Metrics:
    return Metrics(CollectorRegistry())


def envelope(payload, topic: str, submitted: datetime | None = None) -> Envelope:
    return Envelope(
        event_id="e1",
        event_type=topic,
        document_id=SHA,
        correlation_id="c1",
        producer=Producer(stage="t", version="1"),
        payload=payload,
        submitted_at=submitted or datetime.now(UTC),
    )


def test_consumed_counts_documents_and_batch_size(m: Metrics) -> None:
    m.consumed("ocr", 5)
    m.consumed("ocr", 3)
    m.consumed("ocr", 0)
    assert val(m, "docpipe_documents_in_total", stage="ocr") == 8
    assert val(m, "docpipe_batch_size_count", stage="ocr") == 2
    assert val(m, "docpipe_batch_size_sum", stage="ocr") == 8


def test_time_batch_amortises_latency_per_message(m: Metrics) -> None:
    with m.time_batch("extract", 4):
        pass
    assert val(m, "docpipe_batch_latency_seconds_count", stage="extract") == 1
    assert val(m, "docpipe_stage_latency_seconds_count", stage="extract") == 4


def test_extraction_confidences_skip_absent_fields(m: Metrics) -> None:
    ex = Extraction(
        blob=BLOB,
        kind=DocKind.invoice,
        prompt_set=PromptSetRef(name="p", version="1", checksum="c"),
        model=ModelRef(name="m", version="1"),
        fields={
            "total": ExtractedField(name="total", value="10.00", confidence=0.93),
            "iban": ExtractedField(name="iban", value=None, confidence=0.0, status=FieldStatus.absent),
            "date": ExtractedField(name="date", value="2024-01-02", confidence=0.6),
        },
    )
    m.produced("extract", EXTRACTED, envelope(ex, EXTRACTED, datetime.now(UTC) - timedelta(seconds=2)))
    assert val(m, "docpipe_documents_out_total", stage="extract", topic=EXTRACTED) == 1
    assert val(m, "docpipe_field_confidence_count", stage="extract", field="total") == 1
    assert val(m, "docpipe_field_confidence_count", stage="extract", field="iban") == 0
    assert val(m, "docpipe_document_confidence_sum", stage="extract", kind="invoice") == pytest.approx(0.6)
    assert 1.5 < val(m, "docpipe_end_to_end_latency_seconds_sum", stage="extract") < 60


def test_decisions_feed_straight_through_ratio(m: Metrics) -> None:
    doc = NormalizedDocument(blob=BLOB, kind=DocKind.receipt)
    policy = PolicyRef(name="p", version="1", checksum="c")
    for outcome in [Outcome.auto_approved, Outcome.auto_approved, Outcome.exception, Outcome.auto_approved]:
        m.produced("gate", DECIDED, envelope(Decision(outcome=outcome, policy=policy, document=doc), DECIDED))
    assert val(m, "docpipe_decisions_total", outcome="auto_approved", kind="receipt") == 3
    assert val(m, "docpipe_decisions_total", outcome="exception", kind="receipt") == 1
    assert val(m, "docpipe_straight_through_ratio") == pytest.approx(0.75)


def test_straight_through_window_forgets_old_decisions() -> None:
    m = Metrics(CollectorRegistry(), straight_through_window=2)
    for outcome in ["exception", "exception", "auto_approved", "auto_approved"]:
        m.decision(outcome)
    assert val(m, "docpipe_straight_through_ratio") == 1.0


def test_record_outcomes_from_the_real_runtime_policy(m: Metrics) -> None:
    """The worker hook: LocalRunner outcomes (same policy as Kafka) -> in/out/DLQ/duplicate series."""

    def handler(env: Envelope) -> list[Emit]:
        if env.payload.filename == "bad.pdf":
            raise PermanentError("cannot read page 1")
        return []

    stage = StageSpec("probe", "1", INGESTED, DocumentIngested, handler=handler)
    good = envelope(DocumentIngested(blob=BLOB, filename="a.pdf"), INGESTED)
    bad = Envelope(
        **{
            **good.model_dump(),
            "event_id": "e2",
            "document_id": "cd" * 32,
            "payload": DocumentIngested(blob=BLOB, filename="bad.pdf"),
        }
    )
    from pipeline.runtime.policy import process_batch

    raws = [(INGESTED, 0, i, None, e.model_dump_json().encode()) for i, e in enumerate([good, bad, good])]
    raws.append((INGESTED, 0, 3, None, b"not json"))
    outcomes = process_batch(stage, raws, set(), retries=0, backoff_s=0, backoff_max_s=0)
    m.consumed("probe", len(raws))
    m.record_outcomes("probe", outcomes)
    assert val(m, "docpipe_documents_in_total", stage="probe") == 4
    assert val(m, "docpipe_dlq_total", stage="probe", error_kind="handler_error") == 1
    assert val(m, "docpipe_dlq_total", stage="probe", error_kind="undecodable") == 1
    assert val(m, "docpipe_documents_out_total", stage="probe", topic=DLQ) == 2
    assert val(m, "docpipe_duplicates_skipped_total", stage="probe") == 1
    assert LocalRunner(stage).run([good]).emitted  # the runner agrees: a status event for the good one


def test_exported_names_cover_every_family(m: Metrics) -> None:
    names = exported_names(m)
    for required in [
        "docpipe_documents_in_total",
        "docpipe_documents_out_total",
        "docpipe_errors_total",
        "docpipe_dlq_total",
        "docpipe_stage_latency_seconds_bucket",
        "docpipe_consumer_lag",
        "docpipe_batch_size_bucket",
        "docpipe_field_confidence_bucket",
        "docpipe_straight_through_ratio",
        "docpipe_decisions_total",
        "docpipe_worker_info",
    ]:
        assert required in names


def test_exporter_serves_metrics_over_http(m: Metrics) -> None:
    m.consumed("gate", 2)
    m.set_lag("gate", {("docs.normalized", 3): 17})
    m.worker_info("gate", "1.2.0")
    server = start_metrics_server(0, addr="127.0.0.1", registry=m.registry)
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5).read().decode()
    finally:
        server.stop()
    assert 'docpipe_documents_in_total{stage="gate"} 2.0' in body
    assert 'docpipe_consumer_lag{partition="3",stage="gate",topic="docs.normalized"} 17.0' in body
    assert 'docpipe_worker_info{stage="gate",version="1.2.0"} 1.0' in body


def test_exporter_off_without_port() -> None:
    from pipeline.config import Settings

    assert start_from_settings(Settings(metrics_port=None)) is None
