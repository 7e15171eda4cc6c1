"""`docpipe drift`: confidence and straight-through rate per time window, flagging drops vs a baseline."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.output import emit, fail


def register(app: typer.Typer) -> None:
    @app.command()
    def drift(
        input_file: Annotated[Path, typer.Option(
            "--input", "-i", allow_dash=True,
            help="JSON lines: decided/status events or {at, outcome|straight_through, confidence} records; "
                 "'-' = stdin.")],
        window: str = typer.Option("1h", help="Window width: 15m, 1h, 1d ..."),
        baseline_windows: int = typer.Option(1, min=1, help="Leading windows that form the baseline."),
        stp_threshold: float = typer.Option(0.10, min=0.0, max=1.0,
                                            help="Flag a straight-through drop of at least this (0.10 = 10 "
                                                 "points)."),
        confidence_threshold: float = typer.Option(0.05, min=0.0, max=1.0,
                                                   help="Flag a mean-confidence drop of at least this."),
        min_count: int = typer.Option(20, min=1, help="Windows with fewer documents are never flagged."),
        z_min: float = typer.Option(1.645, min=0.0, help="Required one-sided z of a drop (1.645 = 95 %)."),
        strict: bool = typer.Option(False, help="Fail on records that carry no drift signal."),
        fail_on_drift: bool = typer.Option(False, help="Exit 3 when a drop is flagged (for cron/CI)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Report drift of confidence and straight-through rate over time windows."""
        from pipeline.ops.drift import (
            DriftInputError,
            DriftOptions,
            parse_duration,
            render_table,
            report_from_stream,
        )

        try:
            options = DriftOptions(window=parse_duration(window), baseline_windows=baseline_windows,
                                   stp_threshold=stp_threshold, confidence_threshold=confidence_threshold,
                                   min_count=min_count, z_min=z_min)
        except ValueError as exc:
            fail(str(exc))
        try:
            if str(input_file) == "-":
                report = report_from_stream(sys.stdin, options, strict=strict)
            else:
                with input_file.open(encoding="utf-8", errors="strict") as fh:
                    report = report_from_stream(fh, options, strict=strict)
        except FileNotFoundError:
            fail(f"input file not found: {input_file}")
        except (DriftInputError, UnicodeDecodeError) as exc:
            fail(f"{input_file}: {exc if isinstance(exc, DriftInputError) else 'not UTF-8 text'}")
        except IsADirectoryError:
            fail(f"{input_file} is a directory")
        emit(report.to_dict(), as_json, render_table(report))
        if fail_on_drift and report.drift:
            raise typer.Exit(3)
