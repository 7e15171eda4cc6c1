"""The Prometheus metric families every worker exports, and small helpers to feed them.

One module defines every name (the Grafana dashboard and the alert rules reference only these), so
a renamed metric is a one-line change caught by the dashboard test. Labels are bounded sets
(stage names, topic names, outcome/error kinds, field names of the contract): never document ids
or values, so cardinality stays small and no document content reaches the metrics store.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, Info

NAMESPACE = "docpipe"

# Per-document handling time ranges from ~1 ms (normalize) to tens of seconds (OCR of a scan).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Submit-to-stage latency spans queueing too: up to minutes under backlog.
E2E_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1.0)

STRAIGHT_THROUGH_OUTCOME = "auto_approved"


class Metrics:
    """All metric families, bound to one registry (the process default, or a private one in tests)."""

    def __init__(self, registry: CollectorRegistry | None = REGISTRY,
                 straight_through_window: int = 500) -> None:
        ns = NAMESPACE
        self.registry = registry
        self.documents_in = Counter(
            "documents_in", "Messages consumed by a stage (before decoding).", ["stage"], namespace=ns,
            registry=registry)
        self.documents_out = Counter(
            "documents_out", "Events produced by a stage, per output topic.", ["stage", "topic"],
            namespace=ns, registry=registry)
        self.errors = Counter(
            "errors", "Handler errors by kind (transient retries, permanent, decode, unexpected).",
            ["stage", "kind"], namespace=ns, registry=registry)
        self.dlq = Counter(
            "dlq", "Messages dead-lettered, by error kind.", ["stage", "error_kind"], namespace=ns,
            registry=registry)
        self.duplicates = Counter(
            "duplicates_skipped", "Messages skipped because the idempotency ledger had them.", ["stage"],
            namespace=ns, registry=registry)
        self.stage_latency = Histogram(
            "stage_latency_seconds", "Handler time per message (batch time / batch size).", ["stage"],
            namespace=ns, buckets=LATENCY_BUCKETS, registry=registry)
        self.batch_latency = Histogram(
            "batch_latency_seconds", "Time to handle and commit one consumed batch.", ["stage"],
            namespace=ns, buckets=LATENCY_BUCKETS, registry=registry)
        self.end_to_end = Histogram(
            "end_to_end_latency_seconds", "From document submission to this stage's output.", ["stage"],
            namespace=ns, buckets=E2E_BUCKETS, registry=registry)
        self.batch_size = Histogram(
            "batch_size", "Messages per consumed batch.", ["stage"], namespace=ns, buckets=BATCH_BUCKETS,
            registry=registry)
        self.consumer_lag = Gauge(
            "consumer_lag", "Messages not yet consumed (high watermark - position) per assigned partition.",
            ["stage", "topic", "partition"], namespace=ns, registry=registry)
        self.confidence = Histogram(
            "field_confidence", "Confidence of extracted / normalized fields.", ["stage", "field"],
            namespace=ns, buckets=CONFIDENCE_BUCKETS, registry=registry)
        self.document_confidence = Histogram(
            "document_confidence", "Lowest field confidence per document (what the gate keys on).",
            ["stage", "kind"], namespace=ns, buckets=CONFIDENCE_BUCKETS, registry=registry)
        self.decisions = Counter(
            "decisions", "Gate outcomes (auto_approved = straight-through).", ["outcome", "kind"],
            namespace=ns, registry=registry)
        self.straight_through = Gauge(
            "straight_through_ratio",
            "Share of auto-approved decisions among the last N decided by this instance.", namespace=ns,
            registry=registry)
        self.info = Info("worker", "Stage name and version served by this process.", namespace=ns,
                         registry=registry)
        # -- ERP sinks (`docpipe erp sql|webhook`): plain consumers, not StageSpec workers --------
        self.sink_delivered = Counter(
            "sink_delivered", "Approved events an ERP sink finished, by effect (inserted, updated, "
            "superseded, stale, duplicate for SQL; delivered for the webhook).", ["sink", "effect"],
            namespace=ns, registry=registry)
        self.sink_latency = Histogram(
            "sink_latency_seconds", "Time to apply one batch (SQL, retries included) or to deliver one "
            "document (webhook, all attempts).", ["sink"], namespace=ns, buckets=LATENCY_BUCKETS,
            registry=registry)
        self.sink_retries = Counter(
            "sink_retries", "Attempts an ERP sink repeated: `database` (rolled back, nothing written) "
            "or `http` (webhook re-sent).", ["sink", "cause"], namespace=ns, registry=registry)
        # -- review app and outbox relay --------------------------------------------------------------
        self.http_latency = Histogram(
            "http_request_duration_seconds", "HTTP request time by route template (never the raw path).",
            ["app", "method", "route", "status"], namespace=ns, buckets=LATENCY_BUCKETS, registry=registry)
        self.review_actions = Counter(
            "review_actions", "Reviewer actions (claim, release, edit, approve, reject, comment) by "
            "result: ok, or refused (conflict, validation, dual control).", ["action", "result"],
            namespace=ns, registry=registry)
        self.review_open = Gauge(
            "review_open_items", "Open exception items per primary reason (the queue depth).", ["reason"],
            namespace=ns, registry=registry)
        self.review_claimed = Gauge(
            "review_claimed_items", "Open items under an unexpired claim.", namespace=ns, registry=registry)
        self.review_overdue = Gauge(
            "review_overdue_items", "Open items past their SLA due time.", namespace=ns, registry=registry)
        self.review_oldest = Gauge(
            "review_oldest_open_age_seconds", "Age of the oldest open item (0 when the queue is empty).",
            namespace=ns, registry=registry)
        self.relay_published = Counter(
            "relay_published", "Outbox events the relay committed to Kafka, per topic.", ["topic"],
            namespace=ns, registry=registry)
        self.relay_retries = Counter(
            "relay_retries", "Relay rounds that failed and left their batch pending, by cause (kafka, "
            "database).", ["cause"], namespace=ns, registry=registry)
        self.outbox_pending = Gauge(
            "outbox_pending", "Outbox events not yet published (decisions waiting for the relay).",
            namespace=ns, registry=registry)
        self.outbox_oldest = Gauge(
            "outbox_oldest_pending_age_seconds", "Age of the oldest unpublished outbox event.",
            namespace=ns, registry=registry)
        self._recent: deque[bool] = deque(maxlen=straight_through_window)

    # -- consumption ------------------------------------------------------------------------------
    def consumed(self, stage: str, n: int) -> None:
        """One polled batch of n messages."""
        if n <= 0:
            return
        self.documents_in.labels(stage).inc(n)
        self.batch_size.labels(stage).observe(n)

    @contextmanager
    def time_batch(self, stage: str, n: int) -> Iterator[None]:
        """Time one batch; records batch latency and per-message stage latency (amortised)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.batch_latency.labels(stage).observe(elapsed)
            if n > 0:
                per = elapsed / n
                hist = self.stage_latency.labels(stage)
                for _ in range(n):
                    hist.observe(per)

    def error(self, stage: str, kind: str, n: int = 1) -> None:
        self.errors.labels(stage, kind).inc(n)

    def dead_lettered(self, stage: str, error_kind: str) -> None:
        self.dlq.labels(stage, error_kind).inc()
        self.errors.labels(stage, error_kind).inc()

    def skipped_duplicate(self, stage: str) -> None:
        self.duplicates.labels(stage).inc()

    def set_lag(self, stage: str, lags: Mapping[tuple[str, int], int]) -> None:
        for (topic, partition), lag in lags.items():
            self.consumer_lag.labels(stage, topic, str(partition)).set(lag)

    # -- outputs ----------------------------------------------------------------------------------
    def produced(self, stage: str, topic: str, event: Any = None, now: float | None = None) -> None:
        """One output event; inspects known payloads for confidences, decisions and latency."""
        self.documents_out.labels(stage, topic).inc()
        if event is None:
            return
        submitted = getattr(event, "submitted_at", None)
        if submitted is not None and topic != "docs.status":
            delay = (now if now is not None else time.time()) - submitted.timestamp()
            if delay >= 0:
                self.end_to_end.labels(stage).observe(delay)
        payload = getattr(event, "payload", None)
        if payload is None:
            return
        self.observe_payload(stage, payload)

    def observe_payload(self, stage: str, payload: Any) -> None:
        fields = getattr(payload, "fields", None)
        outcome = getattr(payload, "outcome", None)
        if outcome is not None and hasattr(payload, "document"):
            kind = str(getattr(payload.document, "kind", "unknown"))
            self.decision(str(outcome), kind)
            return
        if isinstance(fields, Mapping) and fields:
            confidences = self.observe_fields(stage, fields)
            if confidences:
                kind = str(getattr(payload, "kind", "unknown"))
                self.document_confidence.labels(stage, kind).observe(min(confidences))

    def observe_fields(self, stage: str, fields: Mapping[str, Any]) -> list[float]:
        """Field confidences of found fields (absent fields carry no signal about the model)."""
        seen: list[float] = []
        for name, f in fields.items():
            conf = getattr(f, "confidence", None)
            if conf is None or str(getattr(f, "status", "found")) == "absent":
                continue
            if getattr(f, "value", "") is None:
                continue
            self.confidence.labels(stage, name).observe(float(conf))
            seen.append(float(conf))
        return seen

    def decision(self, outcome: str, kind: str = "unknown") -> None:
        outcome = outcome.split(".")[-1]
        self.decisions.labels(outcome, kind).inc()
        self._recent.append(outcome == STRAIGHT_THROUGH_OUTCOME)
        self.straight_through.set(sum(self._recent) / len(self._recent))

    def worker_info(self, stage: str, version: str, **extra: str) -> None:
        self.info.info({"stage": stage, "version": version, **extra})

    # -- runtime hook -----------------------------------------------------------------------------
    def record_outcomes(self, stage: str, outcomes: Iterable[Any]) -> None:
        """Feed every metric from `pipeline.runtime.policy.Outcome`s of one batch (the worker's hook)."""
        for oc in outcomes:
            if oc.skipped_key:
                self.skipped_duplicate(stage)
            for em in oc.emits:
                self.produced(stage, em.topic, em.event)
            for dl in oc.dead_letters:
                if dl.topic == "docs.dlq":
                    self.dead_lettered(stage, str(dl.event.payload.error_kind))
                self.documents_out.labels(stage, dl.topic).inc()


def exported_names(metrics: Metrics) -> set[str]:
    """Every sample name the families expose (what PromQL can reference), children or not."""
    suffixes = {"counter": ("_total", "_created"), "gauge": ("",), "info": ("_info",),
                "histogram": ("_bucket", "_sum", "_count", "_created")}
    names: set[str] = set()
    for attr in vars(metrics).values():
        if isinstance(attr, (Counter, Gauge, Histogram, Info)):
            base = f"{NAMESPACE}_{attr._name}" if not attr._name.startswith(NAMESPACE) else attr._name
            names.update(base + s for s in suffixes[attr._type])
    return names


METRICS = Metrics()
"""The process-wide metric set, registered in prometheus_client's default registry."""
