"""`docpipe erp sql`: consume docs.approved into ERP tables, exactly once in effect.

Loop: consume a batch -> decode (bad records become dead letters, published and flushed first) ->
one DB transaction with the rows AND the next offsets -> (informational) async commit to Kafka.
On partition assignment the consumer seeks to the offsets stored in the database, so Kafka's own
committed offsets are never trusted for correctness (they only feed lag dashboards).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, Producer, TopicPartition
from sqlalchemy.exc import DBAPIError

from pipeline.config import Settings
from pipeline.contracts import ApprovedDocument, Envelope
from pipeline.db import migrate
from pipeline.erp import kafka_io, observe
from pipeline.erp.stage import sql_sink_stage
from pipeline.erp.store import ApplyStats, ErpStore, Position, sink_engine
from pipeline.observability.metrics import METRICS, Metrics
from pipeline.topics import APPROVED

log = logging.getLogger(__name__)


@dataclass
class SqlSinkOptions:
    db_url: str
    group: str
    batch_size: int = 500
    poll_timeout_s: float = 0.5
    from_beginning: bool = False
    instance_id: str | None = None
    idle_exit_s: float | None = None  # stop after this long without records (batch runs, tests)
    db_retry_max_s: float = 30.0


@dataclass
class SqlSinkResult:
    stats: ApplyStats = field(default_factory=ApplyStats)
    batches: int = 0
    dead_lettered: int = 0
    elapsed_s: float = 0.0


class SqlSink:
    def __init__(self, settings: Settings, opts: SqlSinkOptions, metrics: Metrics = METRICS) -> None:
        self.settings = settings
        self.opts = opts
        self.metrics = metrics
        self.topic = settings.topic(APPROVED)
        self.stage = sql_sink_stage()
        engine = sink_engine(opts.db_url)  # creates a SQLite file's directory before migrating
        migrate(opts.db_url)
        self.store = ErpStore(engine, opts.group)
        self._idle_positions: dict[tuple[str, int], int] = {}
        # Stored positions: records below them were handled (and dead-lettered if bad) already.
        self._handled_below: dict[tuple[str, int], int] = {}
        self._assigned_at: float | None = None  # idle time counts from the first assignment

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        stored = self.store.stored_offsets(self.topic)
        self._handled_below.update({(self.topic, p): o for p, o in stored.items()})
        for tp in partitions:
            tp.offset = OFFSET_BEGINNING if self.opts.from_beginning else stored.get(tp.partition, OFFSET_BEGINNING)
        consumer.assign(partitions)
        self._assigned_at = time.monotonic()
        log.info("erp-sql assigned %s", {tp.partition: tp.offset for tp in partitions})

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Nothing to flush: every processed batch is already committed in the database.
        consumer.unassign()

    def _apply_with_retry(
        self, batch: Sequence[tuple[Position, Envelope[ApprovedDocument] | None]], stop: threading.Event
    ) -> ApplyStats:
        delay, waited = 0.2, 0.0
        while True:
            try:
                return self.store.apply(batch)
            except DBAPIError as exc:  # database down/locked/conflict: nothing was written, retry
                if waited >= self.opts.db_retry_max_s or stop.is_set():
                    raise
                log.warning("erp-sql: database error (%s), retrying in %.1fs", exc.__class__.__name__, delay)
                observe.database_retry(self.metrics, self.stage.name)
                time.sleep(delay)
                waited += delay
                delay = min(delay * 2, 5.0)

    def _advance_idle(self, consumer: Consumer) -> None:
        """Nothing left to read: record positions that moved past transaction markers only.

        Safe because this loop is synchronous: every record below the position was returned by an
        earlier consume() and its batch is already committed in the database.
        """
        assignment = consumer.assignment()
        if not assignment:
            return
        positions = {(tp.topic, tp.partition): tp.offset for tp in consumer.position(assignment) if tp.offset >= 0}
        if positions != self._idle_positions:
            self._idle_positions = positions
            self.store.advance(positions)

    def _report(self, prod: Producer, decoded: list[kafka_io.Decoded], stats: ApplyStats) -> None:
        """One docs.status record per event applied now (informational, after the commit)."""
        envs = {d.envelope.event_id: d.envelope for d in decoded if d.envelope is not None}
        kafka_io.publish_later(
            prod,
            self.settings,
            [
                kafka_io.status(
                    self.stage, envs[eid], f"in ERP tables ({effect}, v{envs[eid].payload.document_version})"
                )
                for eid, effect in stats.effects.items()
            ],
        )

    def _handled(self, msg: Message) -> bool:
        """True for a record a committed batch already covered (a replay): not dead-lettered twice."""
        return (msg.offset() or 0) < self._handled_below.get((msg.topic() or "", msg.partition() or 0), 0)

    def _idle(self, last_record: float) -> bool:
        if self.opts.idle_exit_s is None or self._assigned_at is None:
            return False
        return time.monotonic() - max(last_record, self._assigned_at) > self.opts.idle_exit_s

    def run(
        self, stop: threading.Event | None = None, on_batch: Callable[[ApplyStats], None] | None = None
    ) -> SqlSinkResult:
        stop = stop or threading.Event()
        result = SqlSinkResult()
        started = last_record = time.monotonic()
        consumer = kafka_io.consumer(self.settings, self.opts.group, instance_id=self.opts.instance_id)
        producer = kafka_io.producer(self.settings)  # dead letters and status records
        consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        try:
            while not stop.is_set():
                msgs = consumer.consume(num_messages=self.opts.batch_size, timeout=self.opts.poll_timeout_s)
                records = [m for m in msgs if kafka_io.raise_if_fatal(m)]
                if not records:
                    if not msgs:
                        self._advance_idle(consumer)
                    if self._idle(last_record):
                        break
                    continue
                last_record = time.monotonic()
                decoded = [kafka_io.decode_approved(self.stage, m) for m in records]
                letters = [em for d in decoded if not self._handled(d.msg) for em in d.dead_letters]
                kafka_io.publish(producer, self.settings, letters)  # durable before offsets pass them
                batch = [
                    (
                        Position(d.msg.topic() or self.topic, d.msg.partition() or 0, d.msg.offset() or 0),
                        d.envelope,
                    )
                    for d in decoded
                ]
                applying = time.perf_counter()
                stats = self._apply_with_retry(batch, stop)
                observe.sql_batch(
                    self.metrics, self.stage.name, consumed=len(records),
                    envelopes={d.envelope.event_id: d.envelope for d in decoded if d.envelope is not None},
                    letters=letters, stats=stats, elapsed_s=time.perf_counter() - applying,
                )
                self._report(producer, decoded, stats)
                result.stats.add(stats)
                self._handled_below.update(stats.offsets)
                result.batches += 1
                result.dead_lettered += sum(1 for d in decoded if d.envelope is None)
                if stats.offsets:  # mirror to Kafka for lag monitoring only; the database is the truth
                    consumer.commit(
                        offsets=[TopicPartition(t, p, o) for (t, p), o in stats.offsets.items()],
                        asynchronous=True,
                    )
                if on_batch:
                    on_batch(stats)
        finally:
            consumer.close()
            producer.flush(10)
            result.elapsed_s = time.monotonic() - started
        return result
