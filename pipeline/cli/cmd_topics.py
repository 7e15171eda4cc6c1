"""`docpipe topics`: create and list the catalogue's topics."""

from __future__ import annotations

import typer

from pipeline.cli.output import emit, fail
from pipeline.config import get_settings


def register(app: typer.Typer) -> None:
    topics = typer.Typer(help="Kafka topics from the catalogue (created explicitly, never auto-created).")
    app.add_typer(topics, name="topics")

    @topics.command("create")
    def create(as_json: bool = typer.Option(False, "--json")) -> None:
        """Create every topic of the catalogue that does not exist yet (idempotent)."""
        from confluent_kafka import KafkaException

        from pipeline.runtime.admin import create_topics

        try:
            states = create_topics(get_settings())
        except KafkaException as exc:
            fail(f"cannot create topics: {exc.args[0]}")
        emit([s.__dict__ for s in states], as_json,
             "\n".join(f"{'created' if s.created else 'exists '}  {s.name} ({s.partitions} partitions)"
                       for s in states))

    @topics.command("list")
    def list_(as_json: bool = typer.Option(False, "--json")) -> None:
        """List the broker's topics with partition counts."""
        from pipeline.runtime.admin import list_topics
        from pipeline.topics import CATALOGUE

        try:
            found = list_topics(get_settings())
        except Exception as exc:  # broker down: say so in one line
            fail(f"cannot reach Kafka: {exc}")
        settings = get_settings()
        rows = [{"topic": n, "partitions": p,
                 "description": getattr(CATALOGUE.get(n.removeprefix(settings.topic_prefix)), "description", "")}
                for n, p in sorted(found.items())]
        emit(rows, as_json, "\n".join(f"{r['topic']:<32} {r['partitions']:>3}  {r['description']}" for r in rows))
