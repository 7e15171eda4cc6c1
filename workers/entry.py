"""Build a stage from config and run it on Kafka until SIGTERM/Ctrl-C."""

from __future__ import annotations

import logging

from pipeline.config import get_settings
from pipeline.observability.worker import instrument
from pipeline.runtime.kafka import KafkaWorker, WorkerStats
from pipeline.stages import resolve

log = logging.getLogger("docpipe.worker")


def configure_logging(level: str = "info") -> None:
    try:
        from pipeline.observability.logging import configure_logging as structured
    except ImportError:
        logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    else:
        structured(level)


def run_stage(stage: str, *, slot: str = "0", idle_exit_s: float | None = None) -> WorkerStats:
    settings = get_settings()
    spec = resolve(stage)(settings)
    worker = KafkaWorker(spec, settings, slot=slot)
    worker.install_signal_handlers()
    probes = instrument(worker, settings)  # /metrics on DOCPIPE_METRICS_PORT, group lag sampling
    try:
        stats = worker.run(idle_exit_s=idle_exit_s)
    finally:
        probes.stop()
    log.info("stage %s stopped: consumed=%d produced=%d dead_lettered=%d skipped=%d aborted=%d",
             spec.name, stats.consumed, stats.produced, stats.dead_lettered, stats.skipped, stats.aborted)
    return stats


def main(stage: str) -> None:
    configure_logging()
    run_stage(stage)
