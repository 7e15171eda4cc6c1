"""`docpipe status ID` and `docpipe watch`: where each document is and why."""

from __future__ import annotations

import json

import typer

from pipeline.cli.output import emit, fail
from pipeline.config import get_settings


def _row(value: bytes | None) -> dict[str, object]:
    env = json.loads(value or b"{}")
    p = env.get("payload", {})
    return {"document_id": env.get("document_id"), "at": env.get("created_at"), "stage": p.get("stage"),
            "state": p.get("state"), "detail": p.get("detail", ""), "next": p.get("next_topic")}


def _line(r: dict[str, object]) -> str:
    detail = f"  {r['detail']}" if r["detail"] else ""
    nxt = f" -> {r['next']}" if r["next"] else ""
    return f"{str(r['at'])[:23]}  {str(r['document_id'])[:12]}  {r['stage']:<14} {r['state']}{nxt}{detail}"


def register(app: typer.Typer) -> None:
    @app.command()
    def status(document_id: str = typer.Argument(..., help="Document id (sha256) or a unique prefix of 12+."),
               as_json: bool = typer.Option(False, "--json")) -> None:
        """History of one document through the stages, newest last."""
        from pipeline.runtime.partitioner import partition_for
        from pipeline.runtime.reader import read_topic
        from pipeline.topics import STATUS

        settings = get_settings()
        topic = settings.topic(STATUS)
        if len(document_id) < 12 or any(c not in "0123456789abcdef" for c in document_id):
            fail("document id must be 12 to 64 lowercase hex characters")
        parts = [partition_for(document_id.encode(), settings.partitions)] if len(document_id) == 64 else None
        try:
            rows = [_row(m.value()) for m in read_topic(settings, topic, partitions=parts)
                    if (m.key() or b"").decode().startswith(document_id)]
        except (LookupError, TimeoutError) as exc:
            fail(str(exc))
        if not rows:
            fail(f"no document {document_id} known to the pipeline", code=3)
        rows.sort(key=lambda r: str(r["at"]))
        emit(rows, as_json, "\n".join(_line(r) for r in rows))

    @app.command()
    def watch(from_beginning: bool = typer.Option(False, "--from-beginning"),
              as_json: bool = typer.Option(False, "--json"),
              idle_exit: float | None = typer.Option(None, help="Exit after this many idle seconds.")) -> None:
        """Follow every document's progress live (Ctrl-C to stop)."""
        from pipeline.runtime.reader import follow_topic
        from pipeline.topics import STATUS

        settings = get_settings()
        try:
            for msg in follow_topic(settings, settings.topic(STATUS), from_beginning=from_beginning,
                                    stop_after_idle_s=idle_exit):
                r = _row(msg.value())
                emit(r, as_json, _line(r))
        except LookupError as exc:
            fail(str(exc))
