"""`docpipe worker STAGE`: run one stage (scale out by starting more with other --slot values)."""

from __future__ import annotations

import logging

import typer

from pipeline.cli.output import fail
from pipeline.config import get_settings


def configure_logging(level: str) -> None:
    try:
        from pipeline.observability.logging import configure_logging as structured  # type: ignore[import-not-found]
    except ImportError:
        logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    else:
        structured(level)


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        stage: str = typer.Argument(..., help="ocr | extract | normalize | gate | review-intake | module:function"),
        slot: str = typer.Option("0", help="Instance slot; stable per host so restarts fence old transactions."),
        idle_exit: float | None = typer.Option(None, help="Exit after this many seconds without input."),
        log_level: str = typer.Option("info"),
    ) -> None:
        """Run one stage worker until SIGTERM/Ctrl-C (finishes and commits the current batch)."""
        from pipeline.runtime.kafka import KafkaWorker
        from pipeline.stages import UnknownStage, resolve

        configure_logging(log_level)
        settings = get_settings()
        try:
            spec = resolve(stage)(settings)
        except UnknownStage as exc:
            fail(str(exc))
        w = KafkaWorker(spec, settings, slot=slot)
        w.install_signal_handlers()
        from pipeline.observability.worker import instrument

        probes = instrument(w, settings)  # /metrics on DOCPIPE_METRICS_PORT, lag sampling
        try:
            stats = w.run(idle_exit_s=idle_exit)
        finally:
            probes.stop()
        logging.getLogger("docpipe.worker").info(
            "stage %s stopped: consumed=%d produced=%d dead_lettered=%d skipped=%d aborted=%d",
            spec.name, stats.consumed, stats.produced, stats.dead_lettered, stats.skipped, stats.aborted)
