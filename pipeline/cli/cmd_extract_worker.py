"""`docpipe extract-worker`: the extraction stage with cross-document dynamic micro-batching."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.output import fail
from pipeline.config import get_settings


def register(app: typer.Typer) -> None:
    @app.command("extract-worker")
    def extract_worker(
        slot: str = typer.Option(
            "0", help="Instance slot; stable per host so restarts fence old transactions."
        ),
        model: Annotated[
            Path | None,
            typer.Option(
                help="Registry model folder (model.onnx, tokenizer.json, model_card.json); "
                "default inference.model_path, else the extract stage's model (DOCPIPE_EXTRACT_MODEL)."
            ),
        ] = None,
        idle_exit: float | None = typer.Option(None, help="Exit after this many seconds without input."),
        metrics_port: int | None = typer.Option(None, help="Serve Prometheus metrics on this port."),
        log_level: str = typer.Option("info"),
    ) -> None:
        """Consume docs.ocr, batch prompt windows of many documents per model run, publish docs.extracted.

        Scale out by starting more (other --slot values) in the same consumer group; several model
        sessions per process with DOCPIPE_INFERENCE__SESSIONS.
        """
        from pipeline.inference.documents import DocumentScheduler, build_batcher
        from pipeline.inference.providers import ProviderUnavailable
        from pipeline.inference.stage import build_model, document_stage
        from pipeline.inference.worker import BatchingWorker

        logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        settings = get_settings()
        if model is not None:
            settings = settings.model_copy(
                update={"inference": settings.inference.model_copy(update={"model_path": model})}
            )
        port = metrics_port or settings.metrics_port
        if port:
            from prometheus_client import start_http_server

            start_http_server(port)
        try:
            doc_model = build_model(settings)
        except (OSError, LookupError, ProviderUnavailable, ValueError, ImportError, RuntimeError) as exc:
            # missing/corrupt model (ModelNotFound, ModelIntegrityError), unusable provider, bad setting
            fail(f"cannot load the extraction model: {exc}")
        scheduler = DocumentScheduler(doc_model, build_batcher(doc_model, settings.inference))
        worker = BatchingWorker(document_stage(scheduler), scheduler, settings, slot=slot)
        worker.install_signal_handlers()
        try:
            stats = worker.run(idle_exit_s=idle_exit)
        finally:
            scheduler.batcher.close()
        logging.getLogger("docpipe.worker").info(
            "extract stopped: consumed=%d produced=%d dead_lettered=%d skipped=%d transactions=%d pauses=%d",
            stats.consumed,
            stats.produced,
            stats.dead_lettered,
            stats.skipped,
            stats.transactions,
            stats.pauses,
        )
