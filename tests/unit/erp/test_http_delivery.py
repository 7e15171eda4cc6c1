"""Sender against a real loopback HTTP server (no broker)."""

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pipeline.erp.backoff import RetryPolicy
from pipeline.erp.http_delivery import Outcome, Request, Sender, Verdict, classify, retry_after_s
from pipeline.erp.signature import verify


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.delivered),
        (204, Verdict.delivered),
        (None, Verdict.retry),
        (408, Verdict.retry),
        (429, Verdict.retry),
        (500, Verdict.retry),
        (503, Verdict.retry),
        (400, Verdict.permanent),
        (401, Verdict.permanent),
        (404, Verdict.permanent),
        (422, Verdict.permanent),
        (301, Verdict.permanent),
    ],
)
def test_classification(status: int | None, verdict: Verdict) -> None:
    assert classify(status) is verdict


def test_retry_after_parsing() -> None:
    assert retry_after_s("7") == 7.0
    assert retry_after_s("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == pytest.approx(10.0)
    assert retry_after_s("soon") is None and retry_after_s(None) is None


class Script:
    def __init__(self, statuses: list[int], stall_s: float = 0.0) -> None:
        self.statuses = statuses
        self.stall_s = stall_s
        self.seen: list[dict[str, str]] = []
        self.bodies: list[bytes] = []


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script([])

    class H(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            script.seen.append(dict(self.headers))
            script.bodies.append(body)
            status = script.statuses.pop(0) if script.statuses else 200
            if status == 0:
                time.sleep(script.stall_s)
                status = 200
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass

        def log_message(self, *a: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/hook", script
    srv.shutdown()


REQ = Request("ev-1", "a" * 64, 2, b'{"event_id": "ev-1"}')
FAST = RetryPolicy(max_attempts=4, base_s=0.01, cap_s=0.02, max_elapsed_s=5)


def _deliver(url: str, policy: RetryPolicy = FAST, timeout: float = 2.0) -> Any:
    sender = Sender(url, ["sec"], policy, timeout_s=timeout)
    try:
        return sender.deliver(REQ, lambda: False, lambda s: (time.sleep(s), False)[1])
    finally:
        sender.close()


def test_retries_until_delivered_with_fresh_valid_signatures(server: tuple[str, Script]) -> None:
    url, script = server
    script.statuses = [500, 429, 200]
    res = _deliver(url)
    assert res.outcome is Outcome.delivered and res.attempts == 3
    assert script.bodies == [REQ.body] * 3
    for n, h in enumerate(script.seen, 1):
        assert verify("sec", h["X-Docpipe-Signature"], REQ.body, tolerance_s=60)
        assert h["X-Docpipe-Event-Id"] == "ev-1" and h["X-Docpipe-Delivery-Attempt"] == str(n)
        assert h["X-Docpipe-Document-Version"] == "2" and h["Content-Type"] == "application/json"


def test_permanent_refusal_is_not_retried(server: tuple[str, Script]) -> None:
    url, script = server
    script.statuses = [422]
    res = _deliver(url)
    assert res.outcome is Outcome.rejected and res.attempts == 1 and "422" in res.error


def test_budget_exhaustion_and_timeouts(server: tuple[str, Script]) -> None:
    url, script = server
    script.statuses, script.stall_s = [0, 0, 0, 0], 0.5
    res = _deliver(url, timeout=0.2)
    assert res.outcome is Outcome.exhausted and res.attempts == 4 and "timeout" in res.error


def test_connection_refused_is_retried_then_exhausted() -> None:
    res = _deliver("http://127.0.0.1:9/none", RetryPolicy(max_attempts=2, base_s=0.01, cap_s=0.01))
    assert res.outcome is Outcome.exhausted and res.attempts == 2


def test_cancellation_stops_between_attempts(server: tuple[str, Script]) -> None:
    url, script = server
    script.statuses = [500] * 10
    sender = Sender(url, ["sec"], FAST)
    res = sender.deliver(REQ, lambda: len(script.seen) >= 2, lambda s: False)
    sender.close()
    assert res.outcome is Outcome.cancelled and res.attempts == 2
