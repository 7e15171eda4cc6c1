"""`docpipe review serve|relay|seed-demo` and `docpipe bench review`."""

from __future__ import annotations

import json
import logging
import signal
import tempfile
import threading
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.output import bench_group, emit, fail


def register(app: typer.Typer) -> None:
    review = typer.Typer(help="Human exception queue: web app and outbox relay.", no_args_is_help=True)
    app.add_typer(review, name="review")

    @review.command("serve")
    def serve(
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    ) -> None:
        """Run the review web app (migrates the database first).

        With DOCPIPE_METRICS_PORT set, Prometheus metrics (HTTP latency, reviewer actions, queue
        depth, outbox backlog) are served there, apart from the app's own port.
        """
        from functools import partial

        import uvicorn

        from pipeline import __version__
        from pipeline.config import get_settings
        from pipeline.observability.worker import serve_process
        from pipeline.review.metrics import DbSampler, sample_review
        from pipeline.review.store import open_store
        from pipeline.review.web.app import create_app

        settings = get_settings()
        engine, sessions = open_store(settings)
        probes = serve_process("review", __version__, settings)
        sampler = DbSampler(partial(sample_review, sessions)).start()
        try:
            uvicorn.run(
                create_app(settings, engine),
                host=host,
                port=port,
                log_level="info",
                server_header=False,
                proxy_headers=False,
            )
        finally:
            sampler.stop()
            probes.stop()

    @review.command("relay")
    def relay(
        once: Annotated[bool, typer.Option(help="Publish what is pending, then exit.")] = False,
        batch: Annotated[int, typer.Option(min=1, max=10000, help="Events per Kafka transaction.")] = 200,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Publish outbox events (approved/rejected/feedback/status) to Kafka, exactly once in effect."""
        from functools import partial

        from confluent_kafka import KafkaException

        from pipeline import __version__
        from pipeline.config import get_settings
        from pipeline.observability.worker import serve_process
        from pipeline.review.metrics import DbSampler, sample_outbox
        from pipeline.review.relay import Relay, drain
        from pipeline.review.store import open_store

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        settings = get_settings()
        engine, sessions = open_store(settings)
        try:
            r = Relay(settings, sessions, batch=batch)
            if once:
                n = drain(r)
                r.close()
                emit({"published": n}, as_json, f"published {n} event(s)")
                return
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            signal.signal(signal.SIGINT, lambda *_: stop.set())
            probes = serve_process("review-relay", __version__, settings)
            sampler = DbSampler(partial(sample_outbox, sessions)).start()
            try:
                r.run(stop)
            finally:
                sampler.stop()
                probes.stop()
            r.close()
        except KafkaException as exc:
            fail(f"Kafka error: {exc}")
        finally:
            engine.dispose()

    @review.command("seed-demo")
    def seed_demo(
        count: Annotated[int, typer.Option(min=1, max=1000, help="How many demo exceptions.")] = 5,
    ) -> None:
        """Queue a few synthetic invoices (rendered images with boxes) to try the app."""
        from pipeline.blobstore import open_blobstore
        from pipeline.config import get_settings
        from pipeline.review import demo
        from pipeline.review.intake import enqueue
        from pipeline.review.store import open_store

        settings = get_settings()
        engine, sessions = open_store(settings)
        blobs = open_blobstore(settings.blob_root)
        variants = [
            ("low_confidence",),
            ("po_unmatched", "vendor_unknown"),
            ("iban_changed",),
            ("amount_over_limit",),
            ("duplicate_suspect", "low_confidence"),
        ]
        with sessions.begin() as db:
            for i in range(count):
                inv = demo.DemoInvoice(
                    invoice_number=f"INV-2026-{1000 + i}", total=f"{999.60 + 2500 * (i % 5):.2f}"
                )
                blob, boxes = demo.store_invoice(blobs, inv)
                env = demo.decision_envelope(
                    demo.normalized_document(inv, blob, boxes, {"total": 0.62}),
                    list(variants[i % len(variants)]),
                    salt=str(i),
                )
                enqueue(db, env, sla_hours=settings.review_sla_hours)
        engine.dispose()
        typer.echo(f"queued {count} demo item(s)")

    bench = bench_group(app)

    @bench.command("review")
    def bench_review(
        items: Annotated[int, typer.Option(min=1, help="Open exceptions to seed.")] = 100_000,
        rounds: Annotated[int, typer.Option(min=1, help="Rounds over the request mix.")] = 10,
        postgres: Annotated[
            bool, typer.Option(help="Run against a throwaway local PostgreSQL cluster.")
        ] = False,
        database_url: Annotated[str | None, typer.Option(help="An EMPTY database to use instead.")] = None,
        output: Annotated[Path | None, typer.Option(help="Also write the JSON result here.")] = None,
    ) -> None:
        """Queue page latency (p50/p95) with N open exceptions; JSON on stdout."""
        from pipeline.config import Settings
        from pipeline.db import make_engine
        from pipeline.review import bench as bench_mod
        from pipeline.review.pgtemp import PostgresUnavailable, TempPostgres

        home = Path(tempfile.mkdtemp(prefix="docpipe-bench-review-"))
        pg = None
        try:
            url = database_url
            if postgres and url is None:
                pg = TempPostgres()
                url = pg.start()
            settings = Settings(home=home, database_url=url, review_secret_key="bench-" + "k" * 40)
            engine = make_engine(settings.db_url)
            result = bench_mod.run(settings, engine, items=items, rounds=rounds)
            engine.dispose()
        except PostgresUnavailable as exc:
            fail(str(exc))
        finally:
            if pg is not None:
                pg.stop()
        if output:
            output.write_text(json.dumps(result, indent=2) + "\n")
        emit(result, True)
