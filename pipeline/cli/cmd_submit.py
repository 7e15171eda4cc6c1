"""`docpipe submit PATH...`: store and announce documents."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from pipeline.cli.output import emit, fail
from pipeline.config import get_settings


def register(app: typer.Typer) -> None:
    @app.command()
    def submit(
        paths: list[Path] = typer.Argument(..., help="Files or folders (walked recursively)."),
        kind: str | None = typer.Option(None, help="invoice | receipt | po_change (a hint; detected otherwise)."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per file on stdout."),
        user: str | None = typer.Option(None, help="Submitting user or system, recorded on the event."),
    ) -> None:
        """Submit documents; prints one document id per file. Exit code 1 if any file failed."""
        from rich.progress import Progress

        from pipeline.blobstore import open_blobstore
        from pipeline.contracts import DocKind
        from pipeline.ingest.submit import Submitted, submit_paths
        from pipeline.runtime.clients import producer

        settings = get_settings()
        try:
            hint = DocKind(kind) if kind else None
        except ValueError:
            fail(f"unknown kind {kind!r} (invoice, receipt, po_change)")
        store = open_blobstore(settings.blob_root)
        results: list[Submitted] = []
        with Progress(transient=True, disable=as_json or not sys.stderr.isatty()) as bar:
            task = bar.add_task("submitting", total=None)

            def progress(res: Submitted) -> None:
                bar.advance(task)
                if as_json:
                    emit(res.as_dict(), True)
                elif res.status == "error":
                    typer.echo(f"error      {res.path}: {res.error}", err=True)
                else:
                    typer.echo(f"{res.status:<10} {res.document_id}  {res.path}")

            try:
                results = submit_paths(paths, store, settings, producer(settings), kind_hint=hint,
                                       submitted_by=user, progress=progress)
            except RuntimeError as exc:
                fail(str(exc))
        errors = sum(r.status == "error" for r in results)
        if not results:
            fail("no files found")
        if not as_json:
            typer.echo(f"{len(results) - errors} submitted ({sum(r.status == 'duplicate' for r in results)} "
                       f"duplicates), {errors} failed", err=True)
        if errors:
            raise typer.Exit(1)
