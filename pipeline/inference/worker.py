"""The batching extraction worker: docs.ocr -> windows -> micro-batcher -> docs.extracted.

Unlike the generic KafkaWorker (one poll = one handled batch = one transaction) documents flow
continuously: each consumed document is expanded into windows and queued at once, the model runs
batches packed from many documents, and each document is published as soon as its last window is
scored (order of completion). Every `commit_interval_ms` one Kafka transaction carries the finished
outputs, dead letters, ledger records and, per partition, the offset of the lowest document still
unfinished, so nothing is committed before its output is durable and a crash re-reads only
unfinished work (the ledger makes the re-read idempotent).

Backpressure: while the batcher is above its high watermark the assigned partitions are paused;
the loop keeps calling consume(), so the consumer stays in its group, and resumes them at the low
watermark. Poison input (undecodable, schema-invalid, prepare/model/finish failure of one document)
goes to the DLQ with its reason; a failing window is isolated by the batcher's bisection.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaException, Message, TopicPartition
from prometheus_client import Counter, Gauge

from pipeline.config import Settings
from pipeline.contracts import Envelope, utcnow
from pipeline.inference.documents import DocJob, DocumentScheduler
from pipeline.inference.stage import extraction_emits
from pipeline.runtime.bounded import call_with_deadline
from pipeline.runtime.errors import DecodeError
from pipeline.runtime.ledger import load_ledger
from pipeline.runtime.policy import RawMessage, dead_letter, status_event, success_emits
from pipeline.runtime.shell import StageWorkerShell
from pipeline.runtime.stage import Emit, StageSpec, decode_envelope, encode_envelope

log = logging.getLogger(__name__)

PAUSED = Gauge("docpipe_worker_paused", "1 while input partitions are paused for backpressure", ["stage"])
PAUSES = Counter("docpipe_worker_pauses_total", "Times consumption was paused for backpressure", ["stage"])
DOCS = Counter("docpipe_worker_documents_total", "Documents finished", ["stage", "result"])


class OffsetTracker:
    """Per partition: offsets started but not finished. The committable position is the lowest
    unfinished offset (or one past the highest seen when nothing is in flight)."""

    def __init__(self) -> None:
        self._open: dict[int, set[int]] = {}
        self._next: dict[int, int] = {}

    def started(self, partition: int, offset: int) -> None:
        self._open.setdefault(partition, set()).add(offset)
        self._next[partition] = max(self._next.get(partition, 0), offset + 1)

    def finished(self, partition: int, offset: int) -> None:
        self._open.get(partition, set()).discard(offset)

    def committable(self, partition: int) -> int | None:
        if partition not in self._next:
            return None
        open_ = self._open.get(partition)
        return min(open_) if open_ else self._next[partition]

    def positions(self) -> dict[int, int]:
        return {p: c for p in self._next if (c := self.committable(p)) is not None}

    def drop(self, partition: int) -> None:
        self._open.pop(partition, None)
        self._next.pop(partition, None)

    def in_flight(self, partition: int | None = None) -> int:
        if partition is not None:
            return len(self._open.get(partition, ()))
        return sum(len(v) for v in self._open.values())


@dataclass
class Ready:
    """A finished document (or poison message) waiting for the next transaction."""

    partition: int
    offset: int
    emits: list[Emit]
    ledger_key: str | None = None
    dead: bool = False


@dataclass
class BatchingWorkerStats:
    consumed: int = 0
    produced: int = 0
    dead_lettered: int = 0
    skipped: int = 0
    transactions: int = 0
    aborted: int = 0
    pauses: int = 0
    max_outstanding: int = 0
    latencies_s: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))  # recent, bounded


@dataclass
class _Tag:
    raw: RawMessage
    env: Envelope[Any]
    ledger_key: str


class BatchingWorker(StageWorkerShell):
    """Consumes documents, feeds their windows to the shared micro-batcher and commits finished
    documents in offset order; identity, fencing, ledger and shutdown come from the shell."""

    def __init__(
        self,
        stage: StageSpec,
        scheduler: DocumentScheduler[Any, Any, Any, Any],
        settings: Settings,
        *,
        slot: int | str = 0,
    ) -> None:
        self.scheduler = scheduler
        self.batcher = scheduler.batcher
        self.tracker = OffsetTracker()
        self.stats = BatchingWorkerStats()
        self._ready: list[Ready] = []
        self._jobs: dict[tuple[int, int], DocJob[Any, Any, Any]] = {}
        self._seen: set[str] = set()  # ledger keys in flight (duplicates inside the uncommitted window)
        self._paused: set[int] = set()
        self._backpressure = False
        self._last_flush = time.monotonic()
        self._idle_since = time.monotonic()
        self._commit_interval = settings.inference.commit_interval_ms / 1000
        super().__init__(stage, settings, slot=slot)

    # -- rebalance -----------------------------------------------------------------------------
    def _on_assign(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        new = {tp.partition for tp in partitions}
        self.ledger |= load_ledger(self.settings, self.ledger_topic, new)
        self._idle_since = time.monotonic()  # idle time counts from having partitions, not from start
        log.info("stage %s assigned partitions %s", self.stage.name, sorted(new))

    def _on_revoke(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        """Commit what is finished while we still own the partitions; drop the unfinished rest
        (its offsets were not committed, so the new owner re-reads it)."""
        lost = {tp.partition for tp in partitions}
        try:
            self._flush()
        except KafkaException as exc:
            log.warning("flush on revoke failed (%s); the new owner re-reads", exc.args[0])
            self._abort()
        for key, job in list(self._jobs.items()):
            if key[0] in lost:
                self.scheduler.cancel(job)
                self._seen.discard(job.tag.ledger_key)
                del self._jobs[key]
        self._ready = [r for r in self._ready if r.partition not in lost]
        for p in lost:
            self.tracker.drop(p)
        self._paused -= lost
        log.info("stage %s revoked partitions %s", self.stage.name, sorted(lost))

    # -- main loop -----------------------------------------------------------------------------
    def run(self, *, idle_exit_s: float | None = None) -> BatchingWorkerStats:
        self.consumer.subscribe([self.input_topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        log.info(
            "stage %s v%s (batching) consuming %s as %s (group %s)",
            self.stage.name,
            self.stage.version,
            self.input_topic,
            self.instance,
            self.group,
        )
        self._idle_since = time.monotonic()
        try:
            while not self._stop.is_set():
                busy = bool(self._jobs)
                msgs = self.consumer.consume(
                    num_messages=self.settings.max_batch,
                    timeout=0.005 if busy else self.settings.poll_timeout_s,
                )
                for m in msgs:
                    if self._usable(m):
                        self._admit(m)
                        self._idle_since = time.monotonic()
                self._apply_backpressure()
                self._collect(timeout=0.002 if msgs else 0.02)
                if self._ready and (
                    not self._jobs or time.monotonic() - self._last_flush >= self._commit_interval
                ):
                    self._commit_or_recover()
                if (
                    idle_exit_s is not None
                    and not self._jobs
                    and not self._ready
                    and time.monotonic() - self._idle_since > idle_exit_s
                ):
                    break
            self._drain()
        finally:
            self._close()
        return self.stats

    def _admit(self, msg: Message) -> None:
        raw: RawMessage = (
            str(msg.topic()),
            int(msg.partition() or 0),
            int(msg.offset() or 0),
            msg.key(),
            msg.value(),
        )
        part, off = raw[1], raw[2]
        self.tracker.started(part, off)
        self.stats.consumed += 1
        try:
            env = decode_envelope(raw[4], self.stage.input_model)
        except DecodeError as exc:
            self._ready.append(Ready(part, off, dead_letter(self.stage, raw, exc.kind, exc, 1), dead=True))
            return
        lkey = self.stage.idempotency_key(env.document_id, env.event_id)
        if lkey in self.ledger or lkey in self._seen:
            status = status_event(
                self.stage,
                env.document_id,
                env.correlation_id,
                env.event_id,
                "skipped_duplicate",
                "already handled by this stage version",
                None,
                env.submitted_at,
            )
            self._ready.append(Ready(part, off, [status]))
            self.stats.skipped += 1
            return
        try:
            job = self.scheduler.submit(env.payload, tag=_Tag(raw, env, lkey))
        except Exception as exc:  # prepare() rejected the document
            self._ready.append(
                Ready(part, off, dead_letter(self.stage, raw, "handler_error", exc, 1, env), dead=True)
            )
            return
        self._seen.add(lkey)
        self._jobs[(part, off)] = job
        self.stats.max_outstanding = max(self.stats.max_outstanding, self.batcher.outstanding)

    def _collect(self, timeout: float) -> None:
        for job in self.scheduler.completed(timeout=timeout):
            tag: _Tag = job.tag
            part, off = tag.raw[1], tag.raw[2]
            if self._jobs.pop((part, off), None) is None:
                continue  # revoked meanwhile
            try:
                emits = success_emits(
                    self.stage, tag.env, extraction_emits(self.stage, tag.env, self.scheduler.finish(job))
                )
                self._ready.append(Ready(part, off, emits, tag.ledger_key))
                DOCS.labels(self.stage.name, "ok").inc()
            except Exception as exc:
                log.warning(
                    "document %s failed: %s: %s",
                    tag.env.document_id[:12],
                    exc.__class__.__name__,
                    str(exc)[:200],
                )
                self._ready.append(
                    Ready(
                        part,
                        off,
                        dead_letter(self.stage, tag.raw, "handler_error", exc, 1, tag.env),
                        tag.ledger_key,
                        dead=True,
                    )
                )
                DOCS.labels(self.stage.name, "dead_lettered").inc()
            self.stats.latencies_s.append(time.perf_counter() - job.started)

    def _apply_backpressure(self) -> None:
        assigned = {tp.partition for tp in self.consumer.assignment()}
        saturated = self.batcher.is_saturated()
        if saturated:
            to_pause = assigned - self._paused
            if to_pause:
                self.consumer.pause([TopicPartition(self.input_topic, p) for p in sorted(to_pause)])
                self._paused |= to_pause
                if not self._backpressure:
                    self.stats.pauses += 1
                    PAUSES.labels(self.stage.name).inc()
                    log.info(
                        "backpressure: %d sequences queued, paused partitions %s",
                        self.batcher.queued,
                        sorted(self._paused),
                    )
                self._backpressure = True
        elif self._paused:
            resume = self._paused & assigned
            if resume:
                self.consumer.resume([TopicPartition(self.input_topic, p) for p in sorted(resume)])
            log.info(
                "backpressure released: %d sequences queued, resumed %s", self.batcher.queued, sorted(resume)
            )
            self._paused.clear()
            self._backpressure = False
        PAUSED.labels(self.stage.name).set(1 if self._backpressure else 0)

    # -- transactions --------------------------------------------------------------------------
    def _produce(self, topic: str, key: bytes | None, value: bytes, partition: int | None = None) -> None:
        kwargs: dict[str, Any] = {"key": key, "value": value}
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                self.producer.produce(topic, **kwargs)
                return
            except BufferError:
                self.producer.poll(0.1)

    def _flush(self) -> None:
        """One transaction: ready outputs in completion order + ledger records + safe offsets."""
        if not self._ready:
            return
        ready = self._ready
        self.producer.begin_transaction()
        stamp = json.dumps({"at": utcnow().isoformat(), "by": self.instance}).encode()
        for r in ready:
            for emit in r.emits:
                self._produce(self.settings.topic(emit.topic), emit.event.key, encode_envelope(emit.event))
            if r.ledger_key:
                self._produce(self.ledger_topic, r.ledger_key.encode(), stamp, partition=r.partition)
            self.tracker.finished(r.partition, r.offset)
        offsets = [
            TopicPartition(self.input_topic, p, o) for p, o in sorted(self.tracker.positions().items())
        ]
        group, producer = self.consumer.consumer_group_metadata(), self.producer
        call_with_deadline(  # librdkafka may block here past its own timeout (see runtime.bounded)
            lambda: producer.send_offsets_to_transaction(offsets, group, 60.0), 70.0, "send_offsets_to_transaction"
        )
        self.producer.commit_transaction(60.0)
        self._ready = []
        self._last_flush = time.monotonic()
        self.stats.transactions += 1
        for r in ready:
            if r.ledger_key:
                self.ledger.add(r.ledger_key)
                self._seen.discard(r.ledger_key)
            self.stats.produced += len(r.emits)
            self.stats.dead_lettered += 1 if r.dead else 0

    def _abort(self) -> None:
        self.stats.aborted += 1
        try:
            self.producer.abort_transaction(60.0)
        except KafkaException:
            self.producer = self._new_producer()

    def _commit_or_recover(self) -> None:
        try:
            self._flush()
        except KafkaException as exc:
            # Outputs were not committed: forget all uncommitted work of the partitions we own and
            # re-read them from the last committed offsets (the ledger skips what did commit).
            log.warning("transaction failed (%s); re-reading uncommitted input", exc.args[0])
            if exc.args[0].fatal():
                self.producer = self._new_producer()
                self.stats.aborted += 1
            else:
                self._abort()
            self._rewind()

    def _rewind(self) -> None:
        for job in self._jobs.values():
            self.scheduler.cancel(job)
        self._jobs.clear()
        self._ready.clear()
        self._seen.clear()
        assigned = self.consumer.assignment()
        committed = self.consumer.committed(assigned, timeout=30.0) if assigned else []
        for tp in committed:
            self.tracker.drop(tp.partition)
            self.consumer.seek(
                TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING)
            )
        time.sleep(0.5)

    def _drain(self, timeout_s: float = 60.0) -> None:
        """On stop: finish documents already in the batcher and commit them before leaving."""
        deadline = time.monotonic() + timeout_s
        while self._jobs and time.monotonic() < deadline:
            self._collect(timeout=0.05)
        self._commit_or_recover()

    def _close(self) -> None:
        try:
            self.consumer.close()
        finally:
            self.producer.flush(10)
