"""Kafka plumbing shared by the ERP sinks: client config, decoding, dead letters.

The sinks manage offsets themselves (in the database, or after delivery), so consumers never
auto-commit and read only committed transactions (read_committed: aborted approvals never reach
an ERP). Eager (range) assignment instead of the runtime's cooperative-sticky keeps the
on_assign/on_revoke contract simple: a callback always sees the whole set gained or lost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer

from pipeline.config import Settings
from pipeline.contracts import ApprovedDocument, Envelope, StageStatus, deterministic_event_id
from pipeline.erp import mapping
from pipeline.runtime import clients
from pipeline.runtime.errors import DecodeError, PermanentError
from pipeline.runtime.policy import dead_letter
from pipeline.runtime.stage import Emit, StageSpec, decode_envelope, encode_envelope
from pipeline.topics import STATUS

log = logging.getLogger(__name__)


def consumer(settings: Settings, group: str, *, instance_id: str | None = None, eof: bool = False) -> Consumer:
    """The runtime's consumer (read_committed, manual commits) with eager range assignment."""
    cfg: dict[str, Any] = {"partition.assignment.strategy": "range", "enable.partition.eof": eof}
    if instance_id:  # static membership: a restarted sink takes its partitions back without a rebalance
        cfg["group.instance.id"] = instance_id
    return clients.consumer(settings, group=group, **cfg)


def producer(settings: Settings) -> Producer:
    """Idempotent producer for dead letters (not transactional: the sinks' offsets are not in Kafka)."""
    return clients.producer(settings)


T = TypeVar("T")


def retriable(exc: KafkaException) -> bool:
    err = exc.args[0] if exc.args else None
    return isinstance(err, KafkaError) and (
        err.retriable()
        or err.code()
        in (
            KafkaError.NOT_COORDINATOR,
            KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
            KafkaError.COORDINATOR_NOT_AVAILABLE,
            KafkaError._WAIT_COORD,
            KafkaError.REBALANCE_IN_PROGRESS,
        )
    )


def with_retry(call: Callable[[], T], timeout_s: float = 30.0) -> T:
    """Group-coordinator calls (committed offsets, commits) fail transiently while the coordinator
    loads or moves (e.g. right after a broker start); retry those within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    delay = 0.1
    while True:
        try:
            return call()
        except KafkaException as exc:
            if not retriable(exc) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def raise_if_fatal(msg: Message) -> bool:
    """True for a real record; False for benign events (EOF); raises on fatal consumer errors."""
    err = msg.error()
    if err is None:
        return True
    if err.code() == KafkaError._PARTITION_EOF:
        return False
    if err.fatal() or err.code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC):
        raise KafkaException(err)
    log.warning("consumer: %s", err.str())
    return False


@dataclass
class Decoded:
    msg: Message
    envelope: Envelope[ApprovedDocument] | None
    dead_letters: list[Emit]


def decode_approved(stage: StageSpec, msg: Message) -> Decoded:
    """Decode and validate one docs.approved record; bad input becomes dead letters, never an exception."""
    raw = (msg.topic() or "", msg.partition() or 0, msg.offset() or 0, msg.key(), msg.value())
    try:
        env = decode_envelope(msg.value(), ApprovedDocument)
    except DecodeError as exc:
        return Decoded(msg, None, dead_letter(stage, raw, exc.kind, exc, 1))
    try:
        mapping.validate(env)
    except PermanentError as exc:
        return Decoded(msg, None, dead_letter(stage, raw, "schema_invalid", exc, 1, env))
    return Decoded(msg, env, [])


def status(stage: StageSpec, env: Envelope[Any], detail: str) -> Emit:
    """A docs.status record saying this sink finished the event (`docpipe status ID` shows it)."""
    payload = StageStatus(stage=stage.name, state="done", detail=detail[:500])
    out = Envelope[StageStatus](
        event_id=deterministic_event_id(env.document_id, stage.name, stage.version, "status", env.event_id, "done"),
        event_type=STATUS,
        document_id=env.document_id,
        correlation_id=env.correlation_id,
        causation_id=env.event_id,
        tenant=env.tenant,
        producer=stage.producer,
        submitted_at=env.submitted_at,
        payload=payload,
    )
    return Emit(STATUS, out)


def publish_later(prod: Producer, settings: Settings, emits: list[Emit]) -> None:
    """Fire-and-forget for informational records (status): delivered by the producer in the background."""
    for em in emits:
        try:
            prod.produce(settings.topic(em.topic), key=em.event.key, value=encode_envelope(em.event))
        except BufferError:  # local queue full: informational records must never stall delivery
            prod.poll(0.5)
            log.warning("status record for %s dropped (producer queue full)", em.event.document_id[:12])
    prod.poll(0)


def publish(prod: Producer, settings: Settings, emits: list[Emit], timeout_s: float = 30.0) -> None:
    """Produce and wait until the broker has every record (before the caller moves any offset)."""
    if not emits:
        return
    errors: list[str] = []

    def _cb(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            errors.append(err.str())

    for em in emits:
        prod.produce(settings.topic(em.topic), key=em.event.key, value=encode_envelope(em.event), on_delivery=_cb)
    remaining = prod.flush(timeout_s)
    if remaining or errors:
        raise KafkaException(
            KafkaError(KafkaError._MSG_TIMED_OUT, f"dead-letter publish failed: {errors[:1] or remaining}")
        )
