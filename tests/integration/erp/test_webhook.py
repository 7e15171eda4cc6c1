"""Webhook delivery against a real broker and a misbehaving loopback receiver."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pipeline.config import Settings
from pipeline.contracts import DeadLetter, Envelope
from pipeline.erp.backoff import RetryPolicy
from pipeline.erp.examples import approved_event
from pipeline.erp.signature import SignatureError, verify
from pipeline.erp.webhook import WebhookDelivery, WebhookOptions
from pipeline.topics import DLQ, STATUS
from tests.erp_support import schema_errors
from tests.integration.erp.conftest import produce, read_all

pytestmark = pytest.mark.kafka
NEW_SECRET, OLD_SECRET = "whsec-new-2026", "whsec-old-2025"
CLIENT_TIMEOUT = 0.8


@dataclass
class Receiver:
    """An ERP endpoint that dedupes by event id (as documented) and records what it saw."""

    sick_for_s: float
    reject: set[str]
    rng: random.Random = field(default_factory=lambda: random.Random(5))
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: float | None = None
    applied: dict[str, tuple[str, int]] = field(default_factory=dict)  # event id -> (doc, version)
    bodies: dict[str, bytes] = field(default_factory=dict)
    acked_versions: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    apply_order: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    requests: int = 0
    answers: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    problems: list[str] = field(default_factory=list)

    def handle(self, headers: Any, body: bytes) -> tuple[int, float, dict[str, str]]:
        """-> (status, seconds to stall before answering, extra headers)."""
        try:
            verify(OLD_SECRET, headers["X-Docpipe-Signature"], body, tolerance_s=60)
        except (SignatureError, KeyError) as exc:
            return self._problem(f"bad signature: {exc}")
        event = json.loads(body)
        errors = schema_errors("docs.approved", body)
        event_id, doc, version = event["event_id"], event["document_id"], event["payload"]["document_version"]
        if headers["X-Docpipe-Event-Id"] != event_id:
            return self._problem("event id header does not match body")
        with self.lock:
            self.requests += 1
            now = time.monotonic()
            self.started = self.started or now
            if errors:
                self.problems.append(f"schema: {errors[:2]}")
            if event_id in self.bodies and self.bodies[event_id] != body:
                self.problems.append(f"event {event_id} re-sent with a different body")
            self.bodies[event_id] = body
            missing = [v for v in range(1, version) if v not in self.acked_versions[doc]]
            if missing and doc not in self.reject:
                self.problems.append(f"{doc[:8]} v{version} arrived before v{missing} was acknowledged")
            if doc in self.reject:
                return self._answer("reject", 422)
            sick = now - self.started < self.sick_for_s
            roll = self.rng.random() if sick else 1.0
            if roll < 0.45:
                return self._answer("500", 500)
            if roll < 0.55:
                return self._answer("429", 429, headers={"Retry-After": "1"})
            if roll < 0.70:
                return self._answer("timeout", 503, stall=CLIENT_TIMEOUT + 0.4)
            if event_id not in self.applied:  # effect once
                self.applied[event_id] = (doc, version)
                self.apply_order[doc].append(version)
            if roll < 0.80:  # processed, but the answer comes too late: the sender must retry
                return self._answer("late-200", 200, stall=CLIENT_TIMEOUT + 0.4)
            self.acked_versions[doc].add(version)
            return self._answer("200", 200)

    def _answer(
        self, kind: str, status: int, stall: float = 0.0, headers: dict[str, str] | None = None
    ) -> tuple[int, float, dict[str, str]]:
        self.answers[kind] += 1
        return status, stall, headers or {}

    def _problem(self, text: str) -> tuple[int, float, dict[str, str]]:
        with self.lock:
            self.problems.append(text)
        return 400, 0.0, {}


def serve(receiver: Receiver) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, stall, extra = receiver.handle(self.headers, body)
            if stall:
                time.sleep(stall)
            try:
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def dead_letters(settings: Settings) -> list[Envelope[DeadLetter]]:
    return [Envelope[DeadLetter].model_validate_json(v) for v in read_all(settings, settings.topic(DLQ))]


def test_webhook_survives_500s_and_timeouts_in_order_and_effect_once(erp_settings: Settings) -> None:
    docs = 150
    events = []
    for i in range(docs):  # a third of the documents get corrections (v2, some v3), in order per document
        events.append(approved_event(i, salt="hook"))
        if i % 3 == 0:
            events.append(approved_event(i, version=2, salt="hook"))
        if i % 9 == 0:
            events.append(approved_event(i, version=3, salt="hook"))
    reject = {approved_event(i, salt="hook").document_id for i in (1, 2)}  # answered 422: permanent
    produce(erp_settings, events, chunk=50)

    receiver = Receiver(sick_for_s=3.0, reject=reject)
    server = serve(receiver)
    url = f"http://127.0.0.1:{server.server_address[1]}/erp/approved"
    policy = RetryPolicy(max_attempts=40, base_s=0.05, cap_s=0.8, max_elapsed_s=60)

    def opts(idle: float | None) -> WebhookOptions:
        return WebhookOptions(
            url=url,
            secrets=[NEW_SECRET, OLD_SECRET],
            group="erp-hook",
            concurrency=6,
            timeout_s=CLIENT_TIMEOUT,
            policy=policy,
            idle_exit_s=idle,
            commit_interval_s=0.3,
            max_buffered=40,  # exercise pause/resume back-pressure
        )

    # First incarnation is stopped while the endpoint is still sick (a restart mid-outage) ...
    stop = threading.Event()
    first = WebhookDelivery(erp_settings, opts(None))
    t = threading.Thread(target=first.run, args=(stop,))
    t.start()
    deadline = time.monotonic() + 30  # stop once delivery is under way, whatever the host's speed (a fixed
    while first.stats.delivered < 5 and time.monotonic() < deadline:  # sleep let a fast host finish first)
        time.sleep(0.02)
    stop.set()
    t.join(30)
    assert not t.is_alive()
    # ... the second picks up from the committed offsets and finishes once the endpoint recovers.
    second = WebhookDelivery(erp_settings, opts(2.0)).run()
    server.shutdown()

    assert receiver.problems == []
    expected = {
        e.event_id: (e.document_id, e.payload.document_version) for e in events if e.document_id not in reject
    }
    assert receiver.applied == expected, "every accepted event applied exactly once"
    for doc, order in receiver.apply_order.items():
        assert order == sorted(order), f"document {doc[:8]} applied out of order: {order}"
    assert set(receiver.bodies) == {e.event_id for e in events}, "only produced event ids were ever sent"
    assert receiver.answers["500"] and receiver.answers["timeout"] and receiver.answers["late-200"]
    assert 0 < first.stats.delivered < len(expected), "the restart must happen mid-delivery"
    assert first.stats.delivered + second.delivered >= len(expected)

    statuses = [json.loads(v) for v in read_all(erp_settings, erp_settings.topic(STATUS))]
    delivered = {s["causation_id"] for s in statuses if s["payload"]["state"] == "done"}
    assert delivered == set(expected), "docs.status says delivered exactly for the delivered events"
    letters = dead_letters(erp_settings)
    assert {dl.document_id for dl in letters} == reject
    # a dead letter may be written twice (restart before its offset was committed): same event id
    assert len({dl.event_id for dl in letters}) == len(reject)
    assert all(dl.payload.error_kind == "handler_error" and "422" in dl.payload.error for dl in letters)
    assert second.dead_lettered + first.stats.dead_lettered >= len(reject)
