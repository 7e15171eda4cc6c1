"""`docpipe worker STAGE`: run one stage (scale out by starting more with other --slot values)."""

from __future__ import annotations

import typer

from pipeline.cli.output import fail


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        stage: str = typer.Argument(..., help="ocr | extract | normalize | gate | review-intake | module:function"),
        slot: str = typer.Option("0", help="Instance slot; stable per host so restarts fence old transactions."),
        idle_exit: float | None = typer.Option(None, help="Exit after this many seconds without input."),
        log_level: str = typer.Option("info"),
    ) -> None:
        """Run one stage worker until SIGTERM/Ctrl-C (finishes and commits the current batch)."""
        from pipeline.stages import UnknownStage
        from workers.entry import configure_logging, run_stage

        configure_logging(log_level)
        try:
            run_stage(stage, slot=slot, idle_exit_s=idle_exit)
        except UnknownStage as exc:
            fail(str(exc))
