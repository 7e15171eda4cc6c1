"""Human-readable output by default, JSON for scripts; errors are one line and a non-zero exit."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer


def emit(data: Any, as_json: bool, human: str | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, default=str) + "\n")
    elif human is not None:
        typer.echo(human)
    else:
        typer.echo(json.dumps(data, default=str, indent=2))


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"docpipe: error: {message}", err=True)
    raise typer.Exit(code)


def bench_group(app: typer.Typer) -> typer.Typer:
    """The shared `docpipe bench` group: every module adds its benchmark to the same one."""
    for info in app.registered_groups:
        if info.name == "bench" and info.typer_instance is not None:
            return info.typer_instance
    bench = typer.Typer(help="Benchmarks (JSON results; figures in the README).", no_args_is_help=True)
    app.add_typer(bench, name="bench")
    return bench
