"""Wire a KafkaWorker to the metrics: one call, no changes to the runtime.

`instrument(worker, settings)` starts the /metrics exporter (when settings.metrics_port is set),
publishes the stage's name and version, feeds every committed batch into the metric families through
the worker's `on_batch` hook, and samples the group's consumer lag in the background with a client of
its own (the worker's poll loop may sit idle for minutes, and a lag gauge must not freeze at its last
busy value).
Only committed batches are counted: an aborted transaction is re-read and counted once, when it lands.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import REGISTRY

from pipeline.observability.exporter import MetricsServer, start_from_settings
from pipeline.observability.lag import group_lag, strip_prefix
from pipeline.observability.metrics import METRICS, Metrics

log = logging.getLogger(__name__)


@dataclass
class BatchObserver:
    """The `on_batch(outcomes, elapsed_s)` hook: in/out/DLQ/duplicates, batch size and latency."""

    stage: str
    metrics: Metrics = METRICS
    chained: Callable[[Sequence[Any], float], None] | None = None

    def __call__(self, outcomes: Sequence[Any], elapsed_s: float) -> None:
        n = len(outcomes)
        self.metrics.consumed(self.stage, n)
        self.metrics.batch_latency.labels(self.stage).observe(elapsed_s)
        if n:
            per = elapsed_s / n
            hist = self.metrics.stage_latency.labels(self.stage)
            for _ in range(n):
                hist.observe(per)
        self.metrics.record_outcomes(self.stage, outcomes)
        if self.chained is not None:
            self.chained(outcomes, elapsed_s)


@dataclass
class LagSampler:
    """Samples the consumer group's lag every `interval_s` on a daemon thread, with its own client.

    The client shares the group id but never subscribes, so it neither joins the group nor touches
    the worker's consumer (whose rebalance callbacks would otherwise deadlock a cross-thread call).
    Every replica reports the same group-wide numbers: aggregate with `max by (stage, topic, partition)`.
    """

    stage: str
    settings: Any
    topic: str  # the physical topic name (prefix included)
    group: str
    interval_s: float = 15.0
    metrics: Metrics = METRICS
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _client: Any = None

    def _consumer(self) -> Any:
        if self._client is None:
            from confluent_kafka import Consumer

            self._client = Consumer(self.settings.kafka_config() | {
                "group.id": self.group, "enable.auto.commit": False,
                "client.id": f"docpipe-lag-{self.stage}"})
        return self._client

    def sample(self) -> dict[tuple[str, int], int]:
        lags = strip_prefix(group_lag(self._consumer(), self.topic, timeout=5.0),
                            getattr(self.settings, "topic_prefix", ""))
        self.metrics.set_lag(self.stage, lags)
        return lags

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sample()
            except Exception as exc:  # a broker outage: try again next round
                log.debug("lag sample failed: %s", exc.__class__.__name__)

    def start(self) -> LagSampler:
        self._thread = threading.Thread(target=self._run, name=f"lag-{self.stage}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval_s + 6)
        if self._client is not None:
            self._client.close()
            self._client = None


@dataclass
class Instrumentation:
    server: MetricsServer | None
    sampler: LagSampler | None = None

    def stop(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()
        if self.server is not None:
            self.server.stop()


def serve_process(name: str, version: str, settings: Any, *, metrics: Metrics = METRICS,
                  **info: str) -> Instrumentation:
    """/metrics (when settings.metrics_port is set) and the info series for any long-running process.

    The review app and the outbox relay use this directly; they consume no topic, so no lag sampling.
    """
    server = start_from_settings(settings, registry=metrics.registry or REGISTRY)
    metrics.worker_info(name, version, **info)
    return Instrumentation(server)


def instrument_consumer(name: str, version: str, settings: Any, *, topic: str, group: str,
                        instance: str = "", metrics: Metrics = METRICS,
                        lag_interval_s: float = 15.0) -> Instrumentation:
    """`serve_process` plus group-lag sampling, for consumers that are not KafkaWorkers (ERP sinks).

    `topic` is the physical name; the sinks mirror their progress to Kafka's committed offsets
    precisely so that this gauge (and KEDA) can see their backlog.
    """
    inst = serve_process(name, version, settings, metrics=metrics, instance=instance)
    inst.sampler = LagSampler(name, settings, topic, group, lag_interval_s, metrics).start()
    return inst


def instrument(worker: Any, settings: Any, *, metrics: Metrics = METRICS,
               lag_interval_s: float = 15.0) -> Instrumentation:
    """Attach metrics to a `pipeline.runtime.kafka.KafkaWorker` (keeps an existing on_batch hook)."""
    stage = worker.stage.name
    worker.on_batch = BatchObserver(stage, metrics, chained=getattr(worker, "on_batch", None))
    return instrument_consumer(stage, worker.stage.version, settings, topic=worker.input_topic,
                               group=worker.group, instance=str(getattr(worker, "instance", "")),
                               metrics=metrics, lag_interval_s=lag_interval_s)
