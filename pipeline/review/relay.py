"""Outbox relay: publish pending outbox rows to Kafka, then mark them sent.

Exactly once in effect:
- the decision and its events commit in one DB transaction (pipeline.review.outbox), so an event
  exists iff its decision does;
- the relay publishes a batch inside one Kafka transaction (idempotent, transactional producer with
  a stable transactional.id: a restarted relay fences its dead predecessor and aborts its open
  transaction), then marks the rows sent;
- a crash before the Kafka commit leaves nothing visible to read_committed consumers and the rows
  unsent: the next run publishes them. A crash after the Kafka commit but before the DB mark
  republishes the same rows, byte-identical, with the SAME event ids: consumers dedupe by event_id
  (the pipeline runtime's ledger does, and the ERP sinks key on it).

Failpoints (tests only): DOCPIPE_REVIEW_RELAY_FAILPOINT=before_publish|before_kafka_commit|
after_kafka_commit makes the process exit abruptly at that point, like a kill -9.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time

from confluent_kafka import KafkaException
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import Settings
from pipeline.observability.metrics import METRICS, Metrics
from pipeline.review import outbox
from pipeline.runtime import clients

log = logging.getLogger(__name__)
FAILPOINT_ENV = "DOCPIPE_REVIEW_RELAY_FAILPOINT"


class RelayRetry(Exception):
    """A batch could not be published this time; it stays pending and is retried."""


def _failpoint(name: str) -> None:
    if os.environ.get(FAILPOINT_ENV) == name:
        log.error("failpoint %s: exiting abruptly", name)
        os._exit(86)


class Relay:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        batch: int = 200,
        transactional_id: str | None = None,
        timeout_s: float = 30.0,
        metrics: Metrics = METRICS,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.sessions = sessions
        self.batch = batch
        self.timeout_s = timeout_s
        # One stable id per deployment (not per host): a second relay fences the first, so only one
        # publishes at a time and a restarted relay aborts its dead predecessor's open transaction.
        tid = transactional_id or f"{settings.topic_prefix}docpipe.review-relay.{settings.tenant}"
        self.producer = clients.producer(settings, transactional_id=tid)
        self.producer.init_transactions(timeout_s)  # fences any previous instance with the same id

    def run_once(self) -> int:
        """Publish up to `batch` pending events in one Kafka transaction; returns how many."""
        with self.sessions() as db:
            rows = [(r.id, r.topic, r.key, r.value, r.event_id) for r in outbox.pending(db, self.batch)]
        if not rows:
            return 0
        _failpoint("before_publish")
        self.producer.begin_transaction()
        try:
            for _, topic, key, value, event_id in rows:
                self.producer.produce(
                    self.settings.topic(topic),
                    key=key.encode(),
                    value=value.encode(),
                    headers=[("event_id", event_id.encode()), ("event_type", topic.encode())],
                )
                self.producer.poll(0)
            _failpoint("before_kafka_commit")
            self.producer.commit_transaction(self.timeout_s)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if err is None or err.fatal():  # e.g. fenced by a newer relay: this instance must stop
                raise
            # if the abort fails too, the transaction timeout aborts it broker-side; rows stay pending
            with contextlib.suppress(KafkaException):
                self.producer.abort_transaction(self.timeout_s)
            raise RelayRetry(f"Kafka transaction failed ({err.name()}); the batch stays pending") from None
        _failpoint("after_kafka_commit")
        for _, topic, _, _, _ in rows:  # committed to Kafka: counted even if the DB mark below fails
            self.metrics.relay_published.labels(topic).inc()
        with self.sessions.begin() as db:
            outbox.mark_sent(db, [r[0] for r in rows])
        log.info("relay: published %d event(s)", len(rows))
        return len(rows)

    def run(self, stop: threading.Event | None = None, idle_s: float = 0.5, backoff_s: float = 2.0) -> None:
        """Publish until `stop` is set; transient Kafka or database trouble is logged and retried."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                if self.run_once() == 0:
                    stop.wait(idle_s)
            except (RelayRetry, OperationalError) as exc:
                self.metrics.relay_retries.labels("kafka" if isinstance(exc, RelayRetry) else "database").inc()
                log.warning("relay: %s; retrying in %.1fs", str(exc).splitlines()[0][:200], backoff_s)
                stop.wait(backoff_s)

    def close(self) -> None:
        self.producer.flush(self.timeout_s)


def drain(relay: Relay, max_s: float = 30.0) -> int:
    """Publish until the outbox is empty (or max_s passes); returns the count published."""
    total, deadline = 0, time.monotonic() + max_s
    while time.monotonic() < deadline:
        try:
            n = relay.run_once()
        except RelayRetry as exc:
            log.warning("relay: %s; retrying", exc)
            time.sleep(1.0)
            continue
        if n == 0:
            break
        total += n
    return total
