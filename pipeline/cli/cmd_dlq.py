"""`docpipe dlq list|show|replay`: inspect and reprocess dead letters."""

from __future__ import annotations

import base64
import json
from typing import Any

import typer

from pipeline.cli.output import emit, fail
from pipeline.config import get_settings


def _dead_letters(stage: str | None) -> list[dict[str, Any]]:
    from pipeline.runtime.reader import read_topic
    from pipeline.topics import DLQ

    settings = get_settings()
    rows = []
    for msg in read_topic(settings, settings.topic(DLQ)):
        env = json.loads(msg.value() or b"{}")
        if "payload" not in env:
            continue
        p = env["payload"]
        if stage and p["stage"] != stage:
            continue
        rows.append({"id": env["event_id"], "offset": f"{msg.partition()}:{msg.offset()}",
                     "document_id": env["document_id"], "stage": p["stage"], "kind": p["error_kind"],
                     "error": p["error"], "source": f"{p['source_topic']}:{p['source_partition']}:"
                     f"{p['source_offset']}", "failed_at": p["failed_at"], "_payload": p})
    return rows


def register(app: typer.Typer) -> None:
    dlq = typer.Typer(help="Dead-letter queue: poison input from any stage, with the original for replay.")
    app.add_typer(dlq, name="dlq")

    @dlq.command("list")
    def list_(stage: str | None = typer.Option(None), as_json: bool = typer.Option(False, "--json")) -> None:
        try:
            rows = [{k: v for k, v in r.items() if k != "_payload"} for r in _dead_letters(stage)]
        except (LookupError, TimeoutError) as exc:
            fail(str(exc))
        emit(rows, as_json, "\n".join(
            f"{r['id'][:8]}  {r['stage']:<12} {r['kind']:<22} {r['document_id'][:12]}  {r['error']}" for r in rows)
            or "dead-letter queue is empty")

    @dlq.command("show")
    def show(dead_letter_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
        rows = [r for r in _dead_letters(None) if r["id"].startswith(dead_letter_id)]
        if len(rows) != 1:
            fail(f"{len(rows)} dead letters match {dead_letter_id!r}")
        r = rows[0]
        r.pop("_payload")
        emit(r, as_json)

    @dlq.command("replay")
    def replay(dead_letter_id: list[str] = typer.Argument(None, help="Ids (prefixes) to replay."),
               all_: bool = typer.Option(False, "--all", help="Replay every dead letter (of --stage)."),
               stage: str | None = typer.Option(None), as_json: bool = typer.Option(False, "--json")) -> None:
        """Send originals back to their source topic (after a fix); stages skip what they already handled."""
        from pipeline.runtime.clients import producer

        if not dead_letter_id and not all_:
            fail("name dead-letter ids or use --all")
        rows = _dead_letters(stage)
        if not all_:
            rows = [r for r in rows if any(r["id"].startswith(i) for i in dead_letter_id)]
        if not rows:
            fail("nothing to replay")
        settings = get_settings()
        prod = producer(settings)
        for r in rows:
            p = r["_payload"]
            key = p["source_key"].encode() if p.get("source_key") else None
            prod.produce(p["source_topic"], key=key, value=base64.b64decode(p["original_b64"]))
        if prod.flush(60):
            fail("replay not acknowledged by Kafka")
        emit({"replayed": [r["id"] for r in rows]}, as_json, f"replayed {len(rows)} dead letter(s)")
