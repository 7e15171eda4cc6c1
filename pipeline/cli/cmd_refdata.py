"""`docpipe refdata load DIR` / `docpipe refdata sample DIR`: reference data from CSV files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from pipeline.cli.output import emit, fail


def register(app: typer.Typer) -> None:
    grp = typer.Typer(
        help="Reference data: vendor master, purchase orders, goods receipts.", no_args_is_help=True
    )

    @grp.command("load")
    def load(
        directory: Annotated[Path, typer.Argument(help="Folder with vendors.csv and optional PO/GR files.")],
        as_json: bool = typer.Option(False, "--json", help="JSON output."),
    ) -> None:
        """Validate and load CSV reference data in one transaction (nothing is written on any bad row)."""
        from pipeline.config import get_settings
        from pipeline.db import make_engine, migrate
        from pipeline.refdata.loader import RefDataLoadError, load_dir

        settings = get_settings()
        try:
            engine = make_engine(settings.db_url)  # creates the SQLite folder before migrating
            migrate(settings.db_url)
            report = load_dir(directory, engine)
        except SQLAlchemyError as exc:
            fail(
                f"database {settings.db_url.split('@')[-1]}: {exc.__class__.__name__}: "
                f"{str(getattr(exc, 'orig', exc)).splitlines()[0][:200]}"
            )
        except OSError as exc:
            fail(f"cannot open the database: {exc.__class__.__name__}: {exc.strerror or exc}")
        except RefDataLoadError as exc:
            for line in exc.errors[1:]:
                typer.echo(f"  {line}", err=True)
            fail(
                str(exc.errors[0])
                + (
                    f" ({len(exc.errors)} problems, nothing loaded)"
                    if len(exc.errors) > 1
                    else " (nothing loaded)"
                )
            )
        emit(
            {"loaded": report.counts, "database": settings.db_url.split("@")[-1]},
            as_json,
            "loaded " + ", ".join(f"{v} {k}" for k, v in report.counts.items()),
        )

    @grp.command("sample")
    def sample(
        directory: Annotated[Path, typer.Argument(help="Folder to write the small sample CSV set into.")],
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Write a small checksum-valid sample reference data set (for tests and quick demos)."""
        from pipeline.refdata.sample import write_sample

        paths = write_sample(directory)
        emit({"written": [str(p) for p in paths]}, as_json, "\n".join(str(p) for p in paths))

    app.add_typer(grp, name="refdata")
