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
