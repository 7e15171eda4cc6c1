"""Wire a KafkaWorker to the metrics: one call, no changes to the runtime.

`instrument(worker, settings)` starts the /metrics exporter (when settings.metrics_port is set),
publishes the stage's name and version, feeds every committed batch into the metric families through
the worker's `on_batch` hook, and samples consumer lag in the background (the worker's poll loop
may sit idle for minutes, and a lag gauge must not freeze at its last busy value).
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
from pipeline.observability.lag import consumer_lag, strip_prefix
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
    """Samples `consumer_lag(consumer)` every `interval_s` on a daemon thread until stopped."""

    stage: str
    consumer: Any
    topic_prefix: str = ""
    interval_s: float = 15.0
    metrics: Metrics = METRICS
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> dict[tuple[str, int], int]:
        lags = strip_prefix(consumer_lag(self.consumer, committed=True, timeout=5.0), self.topic_prefix)
        self.metrics.set_lag(self.stage, lags)
        return lags

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sample()
            except Exception as exc:  # a closed consumer or a broker outage: try again next round
                log.debug("lag sample failed: %s", exc.__class__.__name__)

    def start(self) -> LagSampler:
        self._thread = threading.Thread(target=self._run, name=f"lag-{self.stage}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval_s + 1)


@dataclass
class Instrumentation:
    server: MetricsServer | None
    sampler: LagSampler

    def stop(self) -> None:
        self.sampler.stop()
        if self.server is not None:
            self.server.stop()


def instrument(worker: Any, settings: Any, *, metrics: Metrics = METRICS,
               lag_interval_s: float = 15.0) -> Instrumentation:
    """Attach metrics to a `pipeline.runtime.kafka.KafkaWorker` (keeps an existing on_batch hook)."""
    stage = worker.stage.name
    server = start_from_settings(settings, registry=metrics.registry or REGISTRY)
    metrics.worker_info(stage, worker.stage.version, instance=str(getattr(worker, "instance", "")))
    worker.on_batch = BatchObserver(stage, metrics, chained=getattr(worker, "on_batch", None))
    sampler = LagSampler(stage, worker.consumer, getattr(settings, "topic_prefix", ""), lag_interval_s,
                         metrics).start()
    return Instrumentation(server, sampler)
