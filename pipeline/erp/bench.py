"""`docpipe erp bench`: throughput of the three ERP sinks on a real broker (JSON figures).

Uses a throwaway topic prefix, synthetic approved documents (pipeline.erp.examples) and, for the
webhook, a loopback receiver that verifies every signature, so the figures include signing,
verification, JSON and SQL work, not just Kafka reads.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pipeline.config import Settings
from pipeline.erp.backoff import RetryPolicy
from pipeline.erp.examples import approved_event
from pipeline.erp.export import Format, export
from pipeline.erp.signature import verify
from pipeline.erp.sql_sink import SqlSink, SqlSinkOptions
from pipeline.erp.webhook import WebhookDelivery, WebhookOptions
from pipeline.runtime import clients
from pipeline.runtime.admin import create_topics
from pipeline.topics import APPROVED, CATALOGUE, DLQ, STATUS

SECRET = "bench-secret"
IDLE_S = 1.0


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.count = 0
        self.bad = 0
        self.lock = threading.Lock()
        self.last = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    verify(SECRET, self.headers.get("X-Docpipe-Signature", ""), body)
                    ok = True
                except ValueError:
                    ok = False
                with receiver.lock:
                    receiver.count += ok
                    receiver.bad += not ok
                    receiver.last = time.monotonic()
                self.send_response(204 if ok else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def _produce(settings: Settings, docs: int) -> float:
    prod = clients.producer(settings, transactional_id=f"erp-bench-{uuid.uuid4()}")
    prod.init_transactions(30)
    topic = settings.topic(APPROVED)
    started = time.monotonic()
    for start in range(0, docs, 500):
        prod.begin_transaction()
        for i in range(start, min(start + 500, docs)):
            ev = approved_event(i, salt=settings.topic_prefix)
            prod.produce(topic, key=ev.key, value=ev.model_dump_json().encode())
        prod.commit_transaction(60)
    return time.monotonic() - started


def run(settings: Settings, docs: int, *, concurrency: int = 8, db_url: str | None = None) -> dict[str, Any]:
    bench = settings.model_copy(update={"topic_prefix": f"{settings.topic_prefix}erp-bench-{uuid.uuid4().hex[:6]}."})
    create_topics(bench, [CATALOGUE[APPROVED], CATALOGUE[DLQ], CATALOGUE[STATUS]])
    out: dict[str, Any] = {"documents": docs, "partitions": CATALOGUE[APPROVED].partitions}
    try:
        out["produce_s"] = round(_produce(bench, docs), 2)
        with tempfile.TemporaryDirectory() as tmp:
            url = db_url or f"sqlite:///{Path(tmp) / 'erp-bench.db'}"
            last = {"t": 0.0}
            sink = SqlSink(bench, SqlSinkOptions(db_url=url, group=f"{bench.topic_prefix}sql", idle_exit_s=IDLE_S))
            started = time.monotonic()
            res = sink.run(on_batch=lambda _s: last.update(t=time.monotonic()))
            busy = max(last["t"] - started, 1e-9)
            out["sql"] = {
                "inserted": res.stats.inserted,
                "batches": res.batches,
                "seconds": round(busy, 2),
                "docs_per_s": round(res.stats.inserted / busy, 1),
                "database": url.split(":", 1)[0],
            }

            receiver = _Receiver()
            threading.Thread(target=receiver.serve_forever, daemon=True).start()
            opts = WebhookOptions(
                url=f"http://127.0.0.1:{receiver.server_address[1]}/",
                secrets=[SECRET],
                group=f"{bench.topic_prefix}hook",
                concurrency=concurrency,
                policy=RetryPolicy(max_attempts=3),
                idle_exit_s=IDLE_S,
            )
            started = time.monotonic()
            stats = WebhookDelivery(bench, opts).run()
            receiver.shutdown()
            busy = max(receiver.last - started, 1e-9)
            out["webhook"] = {
                "delivered": stats.delivered,
                "bad_signatures": receiver.bad,
                "concurrency": concurrency,
                "seconds": round(busy, 2),
                "docs_per_s": round(stats.delivered / busy, 1),
            }

            fmts: tuple[Format, ...] = ("csv", "jsonl")
            for fmt in fmts:
                target = Path(tmp) / f"export.{fmt}"
                ex = export(bench, target, fmt, group=f"{bench.topic_prefix}export", from_beginning=True)
                out[f"export_{fmt}"] = {
                    "documents": ex.documents,
                    "rows": ex.rows,
                    "seconds": round(ex.elapsed_s, 2),
                    "docs_per_s": round(ex.documents / max(ex.elapsed_s, 1e-9), 1),
                    "bytes": target.stat().st_size,
                }
    finally:
        with contextlib.suppress(Exception):
            names = [bench.topic(t) for t in (APPROVED, DLQ, STATUS)]
            for f in clients.admin(bench).delete_topics(names, operation_timeout=30).values():
                f.result(30)
    return out
