"""Which ERP-sink event feeds which Prometheus series (the sinks' loops call these)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from pipeline.erp import observe
from pipeline.erp.examples import approved_event
from pipeline.erp.stage import sql_sink_stage
from pipeline.erp.store import ApplyStats
from pipeline.observability import Metrics
from pipeline.runtime.errors import DecodeError
from pipeline.runtime.policy import dead_letter
from tests.metrics_support import val

SINK = "erp-sql"


@pytest.fixture
def m() -> Metrics:
    return Metrics(CollectorRegistry())


def test_sql_batch_counts_effects_latency_and_dead_letters(m: Metrics) -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    fresh = approved_event(1, salt="obs").model_copy(update={"submitted_at": now - timedelta(seconds=30)})
    replayed = approved_event(2, salt="obs").model_copy(update={"submitted_at": now - timedelta(hours=2)})
    stats = ApplyStats(inserted=1, duplicates=1, skipped=1, effects={fresh.event_id: "inserted"})
    letters = dead_letter(
        sql_sink_stage(),
        ("docs.approved", 0, 7, b"k", b"{bad"),
        "undecodable",
        DecodeError("undecodable", "not JSON"),
        1,
    )
    observe.sql_batch(
        m,
        SINK,
        consumed=3,
        envelopes={e.event_id: e for e in (fresh, replayed)},
        letters=letters,
        stats=stats,
        elapsed_s=0.04,
        now=now.timestamp(),
    )

    assert val(m, "docpipe_documents_in_total", stage=SINK) == 3
    assert val(m, "docpipe_sink_delivered_total", sink=SINK, effect="inserted") == 1
    assert val(m, "docpipe_sink_delivered_total", sink=SINK, effect="duplicate") == 1
    assert val(m, "docpipe_sink_latency_seconds_count", sink=SINK) == 1
    # submit-to-ERP latency only for the event applied now: a replay would report the outage as latency
    assert val(m, "docpipe_end_to_end_latency_seconds_count", stage=SINK) == 1
    assert val(m, "docpipe_end_to_end_latency_seconds_sum", stage=SINK) == pytest.approx(30)
    assert val(m, "docpipe_dlq_total", stage=SINK, error_kind="undecodable") == 1


def test_database_retry_and_webhook_attempts(m: Metrics) -> None:
    observe.database_retry(m, SINK)
    observe.database_retry(m, SINK)
    assert val(m, "docpipe_sink_retries_total", sink=SINK, cause="database") == 2
    assert val(m, "docpipe_errors_total", stage=SINK, kind="database") == 2

    env = approved_event(3, salt="obs")
    observe.webhook_delivery(m, "erp-webhook", env, attempts=3, elapsed_s=1.5, delivered=True)
    observe.webhook_delivery(m, "erp-webhook", env, attempts=8, elapsed_s=9.0, delivered=False)
    assert val(m, "docpipe_sink_retries_total", sink="erp-webhook", cause="http") == 2 + 7
    assert val(m, "docpipe_sink_delivered_total", sink="erp-webhook", effect="delivered") == 1
    assert val(m, "docpipe_sink_latency_seconds_count", sink="erp-webhook") == 2
    assert val(m, "docpipe_end_to_end_latency_seconds_count", stage="erp-webhook") == 1
