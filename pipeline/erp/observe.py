"""What the ERP sinks tell Prometheus: one function per event kind, fed from the sinks' loops.

Kept apart from the sinks so the mapping (which number goes to which series) is tested without a
broker. Labels are the sink's stage name and fixed effect/cause words, never document ids.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from pipeline.erp.store import ApplyStats
from pipeline.observability.metrics import Metrics
from pipeline.runtime.stage import Emit
from pipeline.topics import DLQ

# ApplyStats field -> effect label (the store's own words; `duplicates` = event already applied).
_SQL_EFFECTS = (("inserted", "inserted"), ("updated", "updated"), ("superseded", "superseded"),
                ("stale", "stale"), ("duplicates", "duplicate"))


def submitted_to_now(metrics: Metrics, sink: str, envelopes: Iterable[Any], now: float | None = None) -> None:
    """Submit-to-ERP latency: the end of the pipeline as the ERP sees it."""
    now = time.time() if now is None else now
    for env in envelopes:
        submitted = getattr(env, "submitted_at", None)
        if submitted is not None and (delay := now - submitted.timestamp()) >= 0:
            metrics.end_to_end.labels(sink).observe(delay)


def dead_letters(metrics: Metrics, sink: str, letters: Sequence[Emit]) -> None:
    for em in letters:
        if em.topic == DLQ:
            metrics.dead_lettered(sink, str(em.event.payload.error_kind))


def sql_batch(metrics: Metrics, sink: str, *, consumed: int, envelopes: dict[str, Any],
              letters: Sequence[Emit], stats: ApplyStats, elapsed_s: float, now: float | None = None) -> None:
    """One committed SQL-sink batch. `envelopes`: event id -> envelope of the decoded records."""
    metrics.consumed(sink, consumed)
    metrics.sink_latency.labels(sink).observe(elapsed_s)
    for attr, effect in _SQL_EFFECTS:
        n = getattr(stats, attr)
        if n:
            metrics.sink_delivered.labels(sink, effect).inc(n)
    # Only events applied by this batch: a replayed duplicate's latency would count the outage too.
    submitted_to_now(metrics, sink, (envelopes[eid] for eid in stats.effects if eid in envelopes), now)
    dead_letters(metrics, sink, letters)


def database_retry(metrics: Metrics, sink: str) -> None:
    metrics.sink_retries.labels(sink, "database").inc()
    metrics.error(sink, "database")


def webhook_delivery(metrics: Metrics, sink: str, envelope: Any, *, attempts: int, elapsed_s: float,
                     delivered: bool, now: float | None = None) -> None:
    """One webhook item finished: delivered, or given up (the caller dead-letters it)."""
    metrics.sink_latency.labels(sink).observe(elapsed_s)
    if attempts > 1:
        metrics.sink_retries.labels(sink, "http").inc(attempts - 1)
    if delivered:
        metrics.sink_delivered.labels(sink, "delivered").inc()
        submitted_to_now(metrics, sink, [envelope], now)
