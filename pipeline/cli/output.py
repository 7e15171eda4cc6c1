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


def command_group(app: typer.Typer, name: str, help_text: str) -> typer.Typer:
    """The app's sub-command group `name`, created once and shared by every module that adds to it
    (`bench`, `eval`: each stage contributes its own benchmark and evaluation)."""
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    grp = typer.Typer(help=help_text, no_args_is_help=True)
    app.add_typer(grp, name=name)
    return grp


def bench_group(app: typer.Typer) -> typer.Typer:
    return command_group(app, "bench", "Benchmarks (JSON results; figures in the README).")


def eval_group(app: typer.Typer) -> typer.Typer:
    return command_group(app, "eval", "Evaluate pipeline components on labelled data (JSON results).")
