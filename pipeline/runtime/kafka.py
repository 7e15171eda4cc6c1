"""Run a StageSpec against Kafka with exactly-once processing inside Kafka.

Per poll: decode + handle (pipeline.runtime.policy), then ONE transaction holding the outputs,
dead letters, status events, ledger records and the consumed offsets. Nothing is committed
before its outputs are durable; a crash anywhere aborts the transaction and the batch is
re-read. Poison input is dead-lettered and the partition keeps flowing. SIGTERM/SIGINT finish
the current batch, commit it and leave the group.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from pipeline.config import Settings
from pipeline.contracts import utcnow
from pipeline.runtime.bounded import call_with_deadline
from pipeline.runtime.ledger import load_ledger
from pipeline.runtime.policy import Outcome, RawMessage, process_batch
from pipeline.runtime.shell import StageWorkerShell
from pipeline.runtime.stage import StageSpec, encode_envelope

log = logging.getLogger(__name__)

TXN_CALL_TIMEOUT_S = 20.0


@dataclass
class WorkerStats:
    consumed: int = 0
    produced: int = 0
    dead_lettered: int = 0
    skipped: int = 0
    transactions: int = 0
    aborted: int = 0
    batch_sizes: list[int] = field(default_factory=list)


def _raw(m: Message) -> RawMessage:
    """A consumed (non-error) message always has topic, partition and offset."""
    topic, partition, offset = m.topic(), m.partition(), m.offset()
    assert topic is not None and partition is not None and offset is not None
    return topic, partition, offset, m.key(), m.value()


class KafkaWorker(StageWorkerShell):
    def __init__(self, stage: StageSpec, settings: Settings, *, slot: int | str = 0,
                 on_batch: Callable[[list[Outcome], float], None] | None = None) -> None:
        self.stats = WorkerStats()
        self.on_batch = on_batch
        self._assigned: set[int] = set()
        self._unacknowledged = 0
        super().__init__(stage, settings, slot=slot)

    # -- lifecycle -----------------------------------------------------------------------------
    def _on_assign(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        new = {tp.partition for tp in partitions}
        self._assigned |= new
        self.ledger |= load_ledger(self.settings, self.ledger_topic, new)
        log.info("stage %s assigned partitions %s (now %s)", self.stage.name, sorted(new), sorted(self._assigned))

    def _on_revoke(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        self._assigned -= {tp.partition for tp in partitions}
        log.info("stage %s revoked partitions %s", self.stage.name, sorted(tp.partition for tp in partitions))

    def run(self, *, idle_exit_s: float | None = None) -> WorkerStats:
        """Consume until stop() (or `idle_exit_s` without messages, for batch jobs and tests)."""
        self.consumer.subscribe([self.input_topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        last_msg = time.monotonic()
        log.info("stage %s v%s consuming %s as %s (group %s)", self.stage.name, self.stage.version,
                 self.input_topic, self.instance, self.group)
        try:
            while not self._stop.is_set():
                msgs = self.consumer.consume(num_messages=self.settings.max_batch,
                                             timeout=self.settings.poll_timeout_s)
                batch = [m for m in msgs if self._usable(m)]
                if not batch:
                    if idle_exit_s is not None and time.monotonic() - last_msg > idle_exit_s:
                        break
                    continue
                last_msg = time.monotonic()
                self._process(batch)
        finally:
            self._close()
        return self.stats

    def _close(self) -> None:
        try:
            self.consumer.close()  # leaves the group promptly: partitions move to the other members
        finally:
            self.producer.flush(10)

    # -- one batch = one transaction -----------------------------------------------------------
    def _process(self, batch: list[Message]) -> None:
        started = time.perf_counter()
        raws = [_raw(m) for m in batch]
        outcomes = process_batch(self.stage, raws, self.ledger, retries=self.settings.transient_retries,
                                 backoff_s=self.settings.retry_backoff_s,
                                 backoff_max_s=self.settings.retry_backoff_max_s)
        try:
            self._commit(batch, outcomes)
        except KafkaException as exc:
            self._recover(exc, batch)
            return
        self.stats.consumed += len(batch)
        self.stats.batch_sizes.append(len(batch))
        for oc in outcomes:
            if oc.ledger_key:
                self.ledger.add(oc.ledger_key)
            self.stats.produced += len(oc.emits)
            self.stats.dead_lettered += 1 if oc.dead_letters else 0
            self.stats.skipped += 1 if oc.skipped_key else 0
        if self.on_batch:
            self.on_batch(outcomes, time.perf_counter() - started)

    def _delivered(self, err: Any, msg: Message) -> None:
        offset = msg.offset()
        if err is not None or offset is None or offset < 0:
            self._unacknowledged += 1

    def _produce(self, topic: str, key: bytes | None, value: bytes, partition: int | None = None) -> None:
        kwargs: dict[str, Any] = {"key": key, "value": value, "on_delivery": self._delivered}
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                self.producer.produce(topic, **kwargs)
                return
            except BufferError:
                self.producer.poll(0.1)

    def _commit(self, batch: list[Message], outcomes: list[Outcome]) -> None:
        self._unacknowledged = 0
        self.producer.begin_transaction()
        stamp = json.dumps({"at": utcnow().isoformat(), "by": self.instance}).encode()
        for oc in outcomes:
            for emit in (*oc.emits, *oc.dead_letters):
                self._produce(self.settings.topic(emit.topic), emit.event.key, encode_envelope(emit.event))
            if oc.ledger_key:
                self._produce(self.ledger_topic, oc.ledger_key.encode(), stamp, partition=oc.partition)
        next_offsets: dict[int, int] = {}
        for _, partition, offset, _, _ in map(_raw, batch):
            next_offsets[partition] = max(next_offsets.get(partition, 0), offset + 1)
        # Every output must be acknowledged with an offset before the input offsets are committed.
        if self.producer.flush(TXN_CALL_TIMEOUT_S) or self._unacknowledged:
            raise KafkaException(KafkaError(KafkaError._MSG_TIMED_OUT,
                                            f"{self._unacknowledged} output(s) not acknowledged; re-reading batch",
                                            txn_requires_abort=True))
        offsets = [TopicPartition(self.input_topic, p, o) for p, o in next_offsets.items()]
        group, producer = self.consumer.consumer_group_metadata(), self.producer
        call_with_deadline(  # librdkafka may block here past its own timeout (see runtime.bounded)
            lambda: producer.send_offsets_to_transaction(offsets, group, TXN_CALL_TIMEOUT_S),
            TXN_CALL_TIMEOUT_S + 10, "send_offsets_to_transaction")
        self._commit_transaction()
        self.stats.transactions += 1

    def _commit_transaction(self) -> None:
        """Bounded: a commit that cannot finish in ~1 min is aborted and the batch re-read, so the
        worker never blocks past max.poll.interval.ms (which would silently cost its partitions)."""
        for attempt in range(3):
            try:
                self.producer.commit_transaction(TXN_CALL_TIMEOUT_S)
                return
            except KafkaException as exc:
                err = exc.args[0]
                if err.retriable() and attempt < 2:
                    log.warning("commit retry %d: %s", attempt + 1, err)
                    time.sleep(1.0 + attempt)
                    continue
                raise

    def _recover(self, exc: KafkaException, batch: list[Message]) -> None:
        """Abort, then rejoin with a fresh consumer so every owned partition restarts from its
        committed offset. (Seeking back is not reliable while a rebalance is under way: a seek
        racing an incremental assignment can be lost, and with it the aborted batch.)"""
        err = exc.args[0]
        self.stats.aborted += 1
        log.warning("transaction failed (%s); aborting and re-reading from committed offsets", err)
        if err.fatal():
            self.producer = self._new_producer()
        else:
            try:
                self.producer.abort_transaction(TXN_CALL_TIMEOUT_S)
            except KafkaException as abort_exc:
                log.warning("abort failed (%s); new producer", abort_exc.args[0])
                self.producer = self._new_producer()
        try:
            self.consumer.close()
        except (KafkaException, RuntimeError) as close_exc:
            log.warning("closing consumer after abort: %s", close_exc)
        self._assigned.clear()
        self.consumer = self._new_consumer()
        self.consumer.subscribe([self.input_topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
