"""`docpipe schemas generate|check`: JSON Schemas in schemas/ from the pydantic models."""

from __future__ import annotations

import typer

from pipeline.cli.output import fail


def register(app: typer.Typer) -> None:
    schemas = typer.Typer(help="The event contract as JSON Schema files.")
    app.add_typer(schemas, name="schemas")

    @schemas.command("generate")
    def generate() -> None:
        from pipeline.contracts.schema_export import write_schemas

        for path in write_schemas():
            typer.echo(f"wrote {path}")

    @schemas.command("check")
    def check() -> None:
        from pipeline.contracts.schema_export import drifted

        bad = drifted()
        if bad:
            fail(f"schemas drifted from the models: {', '.join(bad)} (run `docpipe schemas generate`)")
        typer.echo("schemas match the models")
