"""`docpipe audit verify`: recompute the review audit hash chain and report the first broken link."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli.output import emit, fail


def register(app: typer.Typer) -> None:
    audit = typer.Typer(help="Tamper-evident audit trail of the review app.", no_args_is_help=True)
    app.add_typer(audit, name="audit")

    @audit.command("verify")
    def verify(
        anchor: Annotated[
            str | None,
            typer.Option(help="SEQ:HASH noted earlier (e.g. from --json); detects a wholesale rewrite."),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Exit 0 if the chain is intact, 1 if any record was changed, removed, inserted or reordered."""
        from pipeline.config import get_settings
        from pipeline.db import make_engine, session_factory
        from pipeline.review.audit import verify_chain

        anchor_pair = None
        if anchor:
            seq, _, digest = anchor.partition(":")
            if not seq.isdigit() or len(digest) != 64:
                fail("--anchor must look like SEQ:HASH (64 hex digits)")
            anchor_pair = (int(seq), digest)
        engine = make_engine(get_settings().db_url)
        try:
            with session_factory(engine)() as db:
                result = verify_chain(db, anchor_pair)
        except Exception as exc:  # missing tables, unreachable database
            fail(f"cannot read the audit trail: {exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}")
        finally:
            engine.dispose()
        if result.ok:
            emit(
                result.as_dict(),
                as_json,
                f"audit chain intact: {result.records} records, head {result.head_seq}:{result.head_hash}",
            )
            return
        if as_json:
            emit(result.as_dict(), True)
            raise typer.Exit(1)
        fail(f"audit chain BROKEN at record {result.at_seq}: {result.problem}")
