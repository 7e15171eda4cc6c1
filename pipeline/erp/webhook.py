"""`docpipe erp webhook`: deliver docs.approved to an HTTP endpoint, in order per document.

Threads: the main thread polls Kafka and commits; N workers deliver. Each document has a FIFO lane
(`KeyedLanes`) with at most one event in flight, so a document's events never overtake each other
while other documents proceed. An offset is committed only when it and every offset below it in
its partition is delivered or dead-lettered (`OffsetTracker`), so a crash or rebalance re-delivers
unfinished work (the same event id, which receivers deduplicate) and never skips any.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from pipeline.config import Settings
from pipeline.erp import kafka_io, observe
from pipeline.erp.backoff import RetryPolicy
from pipeline.erp.http_delivery import Outcome, Request, Result, Sender
from pipeline.erp.ordering import KeyedLanes, OffsetTracker
from pipeline.erp.stage import webhook_stage
from pipeline.observability.metrics import METRICS, Metrics
from pipeline.runtime.errors import PermanentError, TransientError
from pipeline.runtime.policy import dead_letter
from pipeline.runtime.stage import Emit
from pipeline.topics import APPROVED

log = logging.getLogger(__name__)


@dataclass
class WebhookOptions:
    url: str
    secrets: Sequence[str]
    group: str
    concurrency: int = 8
    timeout_s: float = 10.0
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    max_buffered: int = 1000
    poll_timeout_s: float = 0.2
    commit_interval_s: float = 1.0
    idle_exit_s: float | None = None
    instance_id: str | None = None


@dataclass
class WebhookStats:
    delivered: int = 0
    dead_lettered: int = 0
    attempts: int = 0
    cancelled: int = 0
    commits: int = 0
    elapsed_s: float = 0.0


@dataclass
class _Item:
    topic: str
    partition: int
    offset: int
    key: str
    raw: tuple[str, int, int, bytes | None, bytes | None]
    request: Request | None
    envelope: Any
    dead_letters: list[Emit]


def _same_key(key: str) -> Callable[[_Item], bool]:
    return lambda item: item.key == key


class WebhookDelivery:
    def __init__(self, settings: Settings, opts: WebhookOptions, metrics: Metrics = METRICS) -> None:
        if opts.concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self.settings = settings
        self.opts = opts
        self.metrics = metrics
        self.topic = settings.topic(APPROVED)
        self.stage = webhook_stage()
        self.lanes: KeyedLanes[str, _Item] = KeyedLanes()
        self.tracker = OffsetTracker()
        self.cond = threading.Condition()
        self.stop_workers = threading.Event()
        self.revoked: set[tuple[str, int]] = set()
        self.in_flight_by_tp: Counter[tuple[str, int]] = Counter()
        self.stats = WebhookStats()
        self._dlq_lock = threading.Lock()
        self._dlq = kafka_io.producer(settings)
        self._assigned_at: float | None = None  # idle time counts from the first assignment
        self.fatal: BaseException | None = None

    # -- workers ---------------------------------------------------------------------------------
    def _cancelled(self, item: _Item) -> bool:
        return self.stop_workers.is_set() or (item.topic, item.partition) in self.revoked

    def _wait(self, item: _Item, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._cancelled(item):
                return True
            self.stop_workers.wait(min(left, 0.1))
        return self._cancelled(item)

    def _publish(self, emits: list[Emit]) -> None:
        with self._dlq_lock:
            kafka_io.publish(self._dlq, self.settings, emits)

    def _handle(self, sender: Sender, item: _Item) -> bool:
        """Deliver or dead-letter one item; False when it was cancelled (left for re-delivery)."""
        if item.request is None:
            self._publish(item.dead_letters)
            observe.dead_letters(self.metrics, self.stage.name, item.dead_letters)
            with self.cond:
                self.stats.dead_lettered += 1
            return True
        started = time.perf_counter()
        res: Result = sender.deliver(item.request, lambda: self._cancelled(item), lambda s: self._wait(item, s))
        with self.cond:
            self.stats.attempts += res.attempts
        if res.outcome is Outcome.cancelled:
            with self.cond:
                self.stats.cancelled += 1
            return False
        if res.outcome is not Outcome.delivered:
            exc: Exception = PermanentError(res.error) if res.outcome is Outcome.rejected else TransientError(res.error)
            kind = "handler_error" if res.outcome is Outcome.rejected else "transient_exhausted"
            letters = dead_letter(self.stage, item.raw, kind, exc, res.attempts, item.envelope)
            self._publish(letters)
            observe.webhook_delivery(self.metrics, self.stage.name, item.envelope, attempts=res.attempts,
                                     elapsed_s=time.perf_counter() - started, delivered=False)
            observe.dead_letters(self.metrics, self.stage.name, letters)
            with self.cond:
                self.stats.dead_lettered += 1
        else:
            observe.webhook_delivery(self.metrics, self.stage.name, item.envelope, attempts=res.attempts,
                                     elapsed_s=time.perf_counter() - started, delivered=True)
            detail = f"delivered to webhook (HTTP {res.status}, attempt {res.attempts})"
            with self._dlq_lock:
                kafka_io.publish_later(self._dlq, self.settings, [kafka_io.status(self.stage, item.envelope, detail)])
            with self.cond:
                self.stats.delivered += 1
        return True

    def _worker(self) -> None:
        sender = Sender(self.opts.url, self.opts.secrets, self.opts.policy, self.opts.timeout_s)
        try:
            while True:
                with self.cond:
                    taken = self.lanes.take()
                    while taken is None:
                        if self.stop_workers.is_set():
                            return
                        self.cond.wait(0.2)
                        taken = self.lanes.take()
                    key, item = taken
                    tp = (item.topic, item.partition)
                    self.in_flight_by_tp[tp] += 1
                finished = False
                try:
                    finished = self._handle(sender, item)
                except Exception as exc:  # e.g. the DLQ publish failed: stop, re-deliver after restart
                    log.exception("webhook: could not complete %s:%d:%d", *tp, item.offset)
                    # Continuing would let this document's later events overtake the unfinished one.
                    self.fatal = self.fatal or exc
                    self.stop_workers.set()
                with self.cond:
                    self.in_flight_by_tp[tp] -= 1
                    if finished:
                        self.tracker.done(item.topic, item.partition, item.offset)
                    else:  # later events of this document must not overtake the unfinished one
                        self.lanes.drop(_same_key(key))
                    self.lanes.done(key)
                    self.cond.notify_all()
        finally:
            sender.close()

    # -- consumer side ---------------------------------------------------------------------------
    def _commit(self, consumer: Consumer, only: set[tuple[str, int]] | None = None) -> None:
        with self.cond:
            positions = {tp: o for tp, o in self.tracker.committable().items() if only is None or tp in only}
        if not positions:
            return
        try:
            consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in positions.items()], asynchronous=False)
        except KafkaException as exc:  # coordinator moving/loading: keep the positions, commit later
            if not kafka_io.retriable(exc):
                raise
            log.warning("webhook: commit deferred (%s)", exc.args[0].str() if exc.args else exc)
            return
        with self.cond:
            self.tracker.mark_committed(positions)
            self.stats.commits += 1

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        with self.cond:
            for tp in partitions:
                self.revoked.discard((tp.topic, tp.partition))
        consumer.assign(partitions)
        self._assigned_at = time.monotonic()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Stop work on lost partitions, wait for in-flight attempts, commit what finished."""
        lost = {(tp.topic, tp.partition) for tp in partitions}
        with self.cond:
            self.revoked |= lost
            self.lanes.drop(lambda i: (i.topic, i.partition) in lost)
            while any(self.in_flight_by_tp[tp] for tp in lost):
                self.cond.wait(0.2)
        self._commit(consumer, lost)
        with self.cond:
            for t, p in lost:
                self.tracker.forget(t, p)
        consumer.unassign()

    def _enqueue(self, msg: Any) -> None:
        d = kafka_io.decode_approved(self.stage, msg)
        self.metrics.documents_in.labels(self.stage.name).inc()
        topic, part, off = msg.topic(), msg.partition(), msg.offset()
        raw = (topic, part, off, msg.key(), msg.value())
        if d.envelope is not None:
            key = d.envelope.document_id
            req = Request(d.envelope.event_id, key, d.envelope.payload.document_version, msg.value())
        else:
            key = (msg.key() or b"").decode(errors="replace") or f"{topic}:{part}:{off}"
            req = None
        with self.cond:
            self.tracker.add(topic, part, off)
            self.lanes.put(key, _Item(topic, part, off, key, raw, req, d.envelope, d.dead_letters))
            self.cond.notify()

    def run(self, stop: threading.Event | None = None) -> WebhookStats:
        stop = stop or threading.Event()
        started = last_record = last_commit = time.monotonic()
        consumer = kafka_io.consumer(self.settings, self.opts.group, instance_id=self.opts.instance_id)
        consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        workers = [
            threading.Thread(target=self._worker, name=f"erp-webhook-{i}", daemon=True)
            for i in range(self.opts.concurrency)
        ]
        for w in workers:
            w.start()
        paused = False
        try:
            while not stop.is_set() and self.fatal is None:
                with self.cond:
                    buffered = self.lanes.queued + self.lanes.in_flight
                if not paused and buffered >= self.opts.max_buffered:
                    consumer.pause(consumer.assignment())
                    paused = True
                elif paused and buffered < self.opts.max_buffered // 2:
                    consumer.resume(consumer.assignment())
                    paused = False
                    last_record = time.monotonic()  # idle time counts from the resume, not the pause
                msgs = consumer.consume(num_messages=500, timeout=self.opts.poll_timeout_s)
                records = [m for m in msgs if kafka_io.raise_if_fatal(m)]
                for m in records:
                    self._enqueue(m)
                now = time.monotonic()
                if records:
                    last_record = now
                if now - last_commit >= self.opts.commit_interval_s:
                    self._commit(consumer)
                    last_commit = now
                if (
                    not paused
                    and self.opts.idle_exit_s is not None
                    and self._assigned_at is not None
                    and now - max(last_record, self._assigned_at) > self.opts.idle_exit_s
                ):
                    with self.cond:
                        idle = self.lanes.queued == 0 and self.lanes.in_flight == 0
                    if idle:
                        break
        finally:
            self.stop_workers.set()
            with self.cond:
                self.cond.notify_all()
            for w in workers:
                w.join(timeout=self.opts.timeout_s + 5)
            try:
                self._commit(consumer)
            finally:
                consumer.close()
                self._dlq.flush(10)
                self.stats.elapsed_s = time.monotonic() - started
        if self.fatal is not None:
            raise RuntimeError(f"webhook delivery stopped: {self.fatal}") from self.fatal
        return self.stats
