"""`docpipe up`: the whole pipeline on this machine, one command (broker if needed, every worker)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import typer

from pipeline.cli.output import fail
from pipeline.config import Settings, get_settings
from pipeline.local.supervisor import Supervisor


def register(app: typer.Typer) -> None:
    @app.command()
    def up(
        demo: bool = typer.Option(False, "--demo", help="Generate sample documents, submit them, follow them."),
        exit_when_done: bool = typer.Option(False, "--exit-when-done", help="With --demo: stop when all finished."),
        review_port: int = typer.Option(8080, help="Port of the review web app."),
        timeout: float = typer.Option(1800, help="With --demo: give up after this many seconds."),
    ) -> None:
        """Start the local broker (unless KAFKA_BOOTSTRAP_SERVERS points elsewhere), create topics,
        migrate the database and run every stage until Ctrl-C."""
        from pipeline.local.broker import reachable, start_local, stop_local
        from pipeline.local.run import prepare
        from pipeline.local.supervisor import Supervisor, default_services
        from pipeline.stages import available

        settings = get_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        started_broker: int | None = None
        if not reachable(settings.bootstrap_servers):
            if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
                fail(f"Kafka at {settings.bootstrap_servers} is not reachable")
            port = int(settings.bootstrap_servers.rpartition(":")[2])
            typer.echo(f"starting local Kafka on 127.0.0.1:{port} (first run fetches the jars with Maven)…")
            try:
                typer.echo(start_local(port))
            except (RuntimeError, FileNotFoundError) as exc:
                fail(str(exc))
            started_broker = port
        demo_files: list[Path] = []
        if demo:
            from pipeline.samples.demo import generate_demo_set

            demo_files = generate_demo_set(settings.home / "demo")
            typer.echo(f"generated {len(demo_files)} sample documents in {settings.home / 'demo'}")
        prepare(settings, settings.home / "demo" / "refdata" if demo else None)
        typer.echo("topics, database and reference data ready")
        stages = available()
        sup = Supervisor(settings.home / "logs")
        env = dict(os.environ, DOCPIPE_HOME=str(settings.home.resolve()),
                   KAFKA_BOOTSTRAP_SERVERS=settings.bootstrap_servers)
        services = default_services(stages, review_port=review_port)
        for svc in services:
            sup.start(svc, env)
        typer.echo(f"running: {', '.join(s.name for s in services)}  (logs in {sup.log_dir})")
        try:
            if demo:
                ok = _run_demo(settings, sup, demo_files, timeout)
                if exit_when_done:
                    raise typer.Exit(0 if ok else 1)
            typer.echo("pipeline is up; Ctrl-C to stop")
            while True:
                time.sleep(1.0)
                if sup.failed():
                    fail(f"service(s) exited: {sup.failed()} (see {sup.log_dir})")
        except KeyboardInterrupt:
            typer.echo("stopping…")
        finally:
            sup.stop()
            if started_broker is not None:
                stop_local(started_broker)


def _run_demo(settings: Settings, sup: Supervisor, files: list[Path], timeout: float) -> bool:
    from pipeline.blobstore import open_blobstore
    from pipeline.ingest.submit import submit_paths
    from pipeline.local.tracker import Tracker
    from pipeline.runtime.clients import producer
    from pipeline.runtime.reader import follow_topic
    from pipeline.topics import STATUS

    results = submit_paths(files, open_blobstore(settings.blob_root), settings, producer(settings))
    tracker = Tracker()
    names = {}
    for r in results:
        if r.document_id:
            tracker.expect(r.document_id)
            names[r.document_id] = Path(r.path).name
        else:
            typer.echo(f"not submitted: {r.path}: {r.error}")
    typer.echo(f"submitted {len(tracker.docs)} documents; following them…")
    deadline = time.monotonic() + timeout
    for msg in follow_topic(settings, settings.topic(STATUS), from_beginning=True, stop_after_idle_s=timeout):
        tracker.observe(json.loads(msg.value() or b"{}"))
        if tracker.done or time.monotonic() > deadline or sup.failed():
            break
    reasons = _failed_rules(settings)
    for p in sorted(tracker.docs.values(), key=lambda p: names.get(p.document_id, "")):
        why = ", ".join(reasons.get(p.document_id, [])[:4]) or p.detail
        typer.echo(f"  {names.get(p.document_id, '?'):<24} {p.outcome or 'unfinished (' + p.stage + ')':<14} "
                   f"{why[:100]}")
    typer.echo("summary: " + ", ".join(f"{k}={v}" for k, v in sorted(tracker.counts().items())))
    if sup.failed():
        typer.echo(f"service(s) exited: {sup.failed()}", err=True)
    return tracker.done and not sup.failed()


def _failed_rules(settings: Settings) -> dict[str, list[str]]:
    """Rule ids that stopped each document, from its decision (what a reviewer will see first)."""
    from pipeline.runtime.reader import read_topic
    from pipeline.topics import DECIDED

    out: dict[str, list[str]] = {}
    for msg in read_topic(settings, settings.topic(DECIDED)):
        env = json.loads(msg.value() or b"{}")
        out[env["document_id"]] = [r["rule_id"] for r in env["payload"]["reasons"] if not r["passed"]]
    return out
