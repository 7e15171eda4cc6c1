"""Deliver one event to an HTTP endpoint: sign, POST, classify the answer, retry within a budget.

Classification (pure, `classify`): 2xx delivered; 408, 429, 5xx, timeouts and connection errors are
retried; any other status (4xx, 3xx) is permanent: the endpoint will not accept this event as is.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum

import httpx

from pipeline.erp import signature
from pipeline.erp.backoff import RetryPolicy

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Docpipe-Signature"
EVENT_ID_HEADER = "X-Docpipe-Event-Id"
USER_AGENT = "docpipe-erp-webhook/1"
RETRYABLE_STATUS = frozenset({408, 429})


class Verdict(StrEnum):
    delivered = "delivered"
    retry = "retry"
    permanent = "permanent"


class Outcome(StrEnum):
    delivered = "delivered"
    rejected = "rejected"  # permanent answer from the endpoint
    exhausted = "exhausted"  # retry budget spent
    cancelled = "cancelled"  # shutdown or partition revoked: not finished, will be re-delivered


def classify(status: int | None) -> Verdict:
    """None = no HTTP answer (timeout, connection refused/reset)."""
    if status is None or status in RETRYABLE_STATUS or status >= 500:
        return Verdict.retry
    if 200 <= status < 300:
        return Verdict.delivered
    return Verdict.permanent


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or HTTP date); None when absent or unparsable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


@dataclass(frozen=True)
class Request:
    event_id: str
    document_id: str
    document_version: int | None
    body: bytes


@dataclass
class Result:
    outcome: Outcome
    attempts: int
    status: int | None = None
    error: str = ""


class Sender:
    """Thread-confined (one per worker thread): owns an httpx.Client and its connection pool."""

    def __init__(
        self,
        url: str,
        secrets: Sequence[str],
        policy: RetryPolicy,
        timeout_s: float = 10.0,
        rng: random.Random | None = None,
    ) -> None:
        if not secrets:
            raise ValueError("at least one webhook secret is required")
        self.url = url
        self.secrets = list(secrets)
        self.policy = policy
        self.rng = rng or random.Random()
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout_s), follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )

    def close(self) -> None:
        self.client.close()

    def _attempt(self, req: Request, attempt: int) -> tuple[int | None, str, float | None]:
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature.sign(self.secrets, req.body),  # fresh timestamp per attempt
            EVENT_ID_HEADER: req.event_id,
            "X-Docpipe-Document-Id": req.document_id,
            "X-Docpipe-Delivery-Attempt": str(attempt),
        }
        if req.document_version is not None:
            headers["X-Docpipe-Document-Version"] = str(req.document_version)
        try:
            resp = self.client.post(self.url, content=req.body, headers=headers)
        except httpx.TimeoutException:
            return None, "timeout", None
        except httpx.TransportError as exc:
            return None, f"transport error: {exc.__class__.__name__}", None
        return resp.status_code, f"HTTP {resp.status_code}", retry_after_s(resp.headers.get("Retry-After"))

    def deliver(self, req: Request, cancelled: Callable[[], bool], wait: Callable[[float], bool]) -> Result:
        """Try until delivered, permanently refused, out of budget or cancelled.

        `wait(seconds)` sleeps and returns True when interrupted (shutdown/revocation).
        """
        started = time.monotonic()
        attempt = 0
        while True:
            if cancelled():
                return Result(Outcome.cancelled, attempt)
            attempt += 1
            status, error, retry_after = self._attempt(req, attempt)
            verdict = classify(status)
            if verdict is Verdict.delivered:
                return Result(Outcome.delivered, attempt, status)
            if verdict is Verdict.permanent:
                return Result(Outcome.rejected, attempt, status, f"endpoint answered {error}")
            delay = self.policy.next_delay(attempt, time.monotonic() - started, retry_after_s=retry_after, rng=self.rng)
            if delay is None:
                return Result(
                    Outcome.exhausted,
                    attempt,
                    status,
                    f"retry budget exhausted after {attempt} attempts, last: {error}",
                )
            log.info("webhook %s attempt %d failed (%s); retry in %.2fs", req.event_id, attempt, error, delay)
            if wait(delay):
                return Result(Outcome.cancelled, attempt, status, error)


class Interruptible:
    """A sleep that ends early on shutdown; shared by all workers."""

    def __init__(self) -> None:
        self.stop = threading.Event()

    def __call__(self, seconds: float) -> bool:
        return self.stop.wait(seconds)
