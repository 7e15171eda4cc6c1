"""`docpipe` command line. Each concern adds its commands in a module `pipeline/cli/cmd_<name>.py`
exposing `register(app)`, so stages plug in without touching this file."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

app = typer.Typer(
    name="docpipe",
    help="Event-driven accounts-payable document pipeline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_all() -> None:
    import pipeline.cli as pkg

    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if mod.name.startswith("cmd_"):
            importlib.import_module(f"pipeline.cli.{mod.name}").register(app)


_register_all()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
