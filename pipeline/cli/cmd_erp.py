"""`docpipe erp sql|webhook|export`: the reference ERP consumers of docs.approved."""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from confluent_kafka import KafkaException
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from pipeline.cli.output import emit, fail
from pipeline.config import get_settings

erp_app = typer.Typer(
    help="Deliver approved documents to ERP systems (SQL tables, webhook, files).", no_args_is_help=True
)


def _group(explicit: str | None, stage: str) -> str:
    from pipeline.runtime.clients import group_id

    return explicit or group_id(get_settings(), stage)


def _stop_on_signals() -> threading.Event:
    """SIGTERM/SIGINT finish the current batch/attempts and exit cleanly (offsets stay consistent)."""
    stop = threading.Event()

    def _handler(_sig: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    return stop


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _instrument(stage: Any, group: str, instance: str | None) -> Any:
    """/metrics on DOCPIPE_METRICS_PORT and the group's lag, like every stage worker."""
    from pipeline.observability.worker import instrument_consumer
    from pipeline.topics import APPROVED

    settings = get_settings()
    return instrument_consumer(stage.name, stage.version, settings, topic=settings.topic(APPROVED), group=group,
                               instance=instance or "")


@erp_app.command("sql")
def sql_cmd(
    db: str = typer.Option(None, "--db", help="SQLAlchemy URL (default: settings database_url / SQLite)."),
    group: str = typer.Option(None, help="Consumer group (offsets are stored per group in erp_offsets)."),
    batch: int = typer.Option(500, min=1, max=10_000, help="Records per database transaction (max)."),
    from_beginning: bool = typer.Option(
        False, "--from-beginning", help="Replay the topic from the start (idempotent: changes nothing)."
    ),
    instance_id: str = typer.Option(None, help="Static group membership id (fast restart, no rebalance)."),
    idle_exit: float = typer.Option(None, help="Exit after this many seconds without new records."),
    verbose: bool = typer.Option(False, "-v", "--verbose"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Upsert approved documents and lines into erp_documents / erp_document_lines, exactly once."""
    from pipeline.erp.sql_sink import SqlSink, SqlSinkOptions

    _logging(verbose)
    settings = get_settings()
    opts = SqlSinkOptions(
        db_url=db or settings.db_url,
        group=_group(group, "erp-sql"),
        batch_size=batch,
        from_beginning=from_beginning,
        instance_id=instance_id,
        idle_exit_s=idle_exit,
    )
    from pipeline.erp.stage import sql_sink_stage

    probes = _instrument(sql_sink_stage(), opts.group, instance_id)
    try:
        res = _run_surviving_database_outages(lambda: SqlSink(settings, opts), _stop_on_signals())
    except KafkaException as exc:
        fail(f"kafka: {exc.args[0].str() if exc.args else exc}")
    except SQLAlchemyError as exc:
        fail(f"database: {str(exc.orig if isinstance(exc, DBAPIError) else exc).splitlines()[0]}")
    except OSError as exc:
        fail(f"database: {exc}")
    finally:
        probes.stop()
    data = {
        "batches": res.batches,
        **res.stats.as_dict(),
        "dead_lettered": res.dead_lettered,
        "elapsed_s": round(res.elapsed_s, 2),
    }
    emit(data, as_json, "erp sql: " + ", ".join(f"{k}={v}" for k, v in data.items()))


def _run_surviving_database_outages(make_sink: Any, stop: threading.Event) -> Any:
    """A lost database connection (restart, failover) is waited out: the sink is rebuilt and resumes
    from the offsets stored in the database, so nothing is lost or applied twice. Other errors stop it."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from pipeline.erp.stage import SQL_SINK
    from pipeline.observability.metrics import METRICS

    delay = 1.0
    while True:
        try:
            return make_sink().run(stop)
        except (OperationalError, InterfaceError) as exc:
            if stop.is_set():
                raise
            METRICS.error(SQL_SINK, "database_outage")
            reason = str(exc.orig if isinstance(exc, DBAPIError) else exc).splitlines()[0]
            logging.getLogger("docpipe.erp").warning("database unavailable (%s); retrying in %.0fs", reason, delay)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)


@erp_app.command("webhook")
def webhook_cmd(
    secret_file: Annotated[
        Path,
        typer.Option(
            exists=True,
            dir_okay=False,
            readable=True,
            help="HMAC secret(s), one per line; several lines = rotation.",
        ),
    ],
    url: str = typer.Option(..., help="ERP endpoint receiving one POST per approved event."),
    group: str = typer.Option(None, help="Consumer group (committed after delivery or dead-letter)."),
    concurrency: int = typer.Option(8, min=1, max=256, help="Documents delivered in parallel."),
    timeout: float = typer.Option(10.0, min=0.1, help="HTTP timeout per attempt, seconds."),
    max_attempts: int = typer.Option(8, min=1, help="Attempts per event before dead-lettering."),
    max_elapsed: float = typer.Option(300.0, min=0.0, help="Retry budget per event, seconds."),
    backoff_base: float = typer.Option(0.5, min=0.0, help="First retry delay, seconds (doubles, jittered)."),
    backoff_cap: float = typer.Option(30.0, min=0.0, help="Largest retry delay, seconds."),
    instance_id: str = typer.Option(None, help="Static group membership id."),
    idle_exit: float = typer.Option(None, help="Exit after this many idle seconds with nothing in flight."),
    verbose: bool = typer.Option(False, "-v", "--verbose"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """POST each approved event, signed (X-Docpipe-Signature), retried, in order per document."""
    from pipeline.erp.backoff import RetryPolicy
    from pipeline.erp.webhook import WebhookDelivery, WebhookOptions

    _logging(verbose)
    if not url.startswith(("http://", "https://")):
        fail("--url must be an http:// or https:// URL")
    secrets = [ln.strip() for ln in secret_file.read_text().splitlines() if ln.strip()]
    if not secrets:
        fail(f"{secret_file}: no secret in file")
    try:
        policy = RetryPolicy(
            max_attempts=max_attempts,
            base_s=backoff_base,
            cap_s=max(backoff_cap, backoff_base),
            max_elapsed_s=max_elapsed,
        )
    except ValueError as exc:
        fail(str(exc))
    opts = WebhookOptions(
        url=url,
        secrets=secrets,
        group=_group(group, "erp-webhook"),
        concurrency=concurrency,
        timeout_s=timeout,
        policy=policy,
        instance_id=instance_id,
        idle_exit_s=idle_exit,
    )
    from pipeline.erp.stage import webhook_stage

    probes = _instrument(webhook_stage(), opts.group, instance_id)
    try:
        stats = WebhookDelivery(get_settings(), opts).run(_stop_on_signals())
    except KafkaException as exc:
        fail(f"kafka: {exc.args[0].str() if exc.args else exc}")
    except RuntimeError as exc:
        fail(str(exc))
    finally:
        probes.stop()
    data = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in vars(stats).items()}
    emit(data, as_json, "erp webhook: " + ", ".join(f"{k}={v}" for k, v in data.items()))


@erp_app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="File to write (atomically).")],
    fmt: str = typer.Option(..., "--format", help="csv or jsonl"),
    from_beginning: bool = typer.Option(
        False, "--from-beginning", help="Full dump; does not move the incremental position."
    ),
    force: bool = typer.Option(False, "--force", help="Replace --out if it exists."),
    group: str = typer.Option(None, help="Consumer group holding the incremental export position."),
    timeout: float = typer.Option(30.0, min=1.0, help="Give up when the topic end is not reached in time."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Write approved documents (header + lines) as CSV or JSONL for batch imports."""
    from pipeline.erp.export import export

    if fmt not in ("csv", "jsonl"):
        fail(f"--format must be csv or jsonl, not {fmt!r}")
    try:
        res = export(
            get_settings(),
            out,
            "csv" if fmt == "csv" else "jsonl",
            group=_group(group, "erp-export"),
            from_beginning=from_beginning,
            force=force,
            timeout_s=timeout,
        )
    except (FileExistsError, FileNotFoundError, TimeoutError, OSError) as exc:
        fail(str(exc))
    except KafkaException as exc:
        fail(f"kafka: {exc.args[0].str() if exc.args else exc}")
    data = {k: v for k, v in vars(res).items() if k != "offsets"} | {"elapsed_s": round(res.elapsed_s, 2)}
    emit(data, as_json, f"erp export: {res.documents} documents, {res.rows} rows -> {res.path}")


@erp_app.command("bench")
def bench_cmd(
    docs: int = typer.Option(
        2000, min=1, max=1_000_000, help="Synthetic approved documents to push through."
    ),
    concurrency: int = typer.Option(8, min=1, max=256, help="Webhook deliveries in parallel."),
    db: str = typer.Option(
        None, "--db", help="Database for the SQL sink (default: a temporary SQLite file)."
    ),
) -> None:
    """Throughput of the SQL sink, webhook delivery and export on the configured broker (JSON)."""
    from pipeline.erp.bench import run

    try:
        result = run(get_settings(), docs, concurrency=concurrency, db_url=db)
    except KafkaException as exc:
        fail(f"kafka: {exc.args[0].str() if exc.args else exc}")
    emit(result, True)


def register(app: typer.Typer) -> None:
    app.add_typer(erp_app, name="erp")
