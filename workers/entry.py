"""Build a stage from config and run it on Kafka until SIGTERM/Ctrl-C."""

from __future__ import annotations

import logging
import time

from pipeline.config import Settings, get_settings
from pipeline.observability.worker import instrument
from pipeline.runtime import StageSpec, TransientError
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


def build_with_retry(stage: str, settings: Settings, patience_s: float = 300.0) -> StageSpec:
    """Build the stage, waiting out dependencies that are briefly down at start (database restarting):
    a worker that exits then only crash-loops. Configuration errors still fail at once."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    builder = resolve(stage)
    deadline = time.monotonic() + patience_s
    delay = 1.0
    while True:
        try:
            return builder(settings)
        except (TransientError, OperationalError, InterfaceError) as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("stage %s cannot start yet (%s); retrying in %.0fs", stage, exc.__class__.__name__, delay)
            time.sleep(delay)
            delay = min(delay * 2, 15.0)


def run_stage(stage: str, *, slot: str = "0", idle_exit_s: float | None = None) -> WorkerStats:
    settings = get_settings()
    spec = build_with_retry(stage, settings)
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
