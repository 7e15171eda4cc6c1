"""Kafka client construction in one place: security settings, partitioner, isolation."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from pipeline.config import Settings
from pipeline.topics import LARGE_MESSAGE_BYTES

log = logging.getLogger(__name__)


def instance_id(slot: int | str = 0) -> str:
    """Stable per host and slot, so a restarted worker fences its predecessor's open transaction."""
    return f"{os.environ.get('DOCPIPE_INSTANCE') or socket.gethostname()}-{slot}"


def group_id(settings: Settings, stage: str) -> str:
    return f"{settings.topic_prefix}docpipe.{stage}"


def producer(settings: Settings, *, transactional_id: str | None = None, **extra: Any) -> Producer:
    cfg: dict[str, Any] = settings.kafka_config() | {
        "topic.metadata.refresh.interval.ms": 10_000,
        "enable.idempotence": True,
        "acks": "all",
        # murmur2 keeps key -> partition mapping identical to Java clients and ERP consumers.
        "partitioner": "murmur2_random",
        "linger.ms": 5,
        "compression.type": "lz4",
        "message.timeout.ms": 120_000,
        "message.max.bytes": LARGE_MESSAGE_BYTES + 64 * 1024,
    }
    if transactional_id:
        cfg["transactional.id"] = transactional_id
        cfg["transaction.timeout.ms"] = 30_000
        cfg["message.timeout.ms"] = 30_000
    cfg.update(extra)
    return Producer(cfg)


def consumer(settings: Settings, *, group: str | None, **extra: Any) -> Consumer:
    cfg: dict[str, Any] = settings.kafka_config() | {
        "topic.metadata.refresh.interval.ms": 10_000,
        "group.id": group or f"docpipe-reader-{os.getpid()}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "isolation.level": "read_committed",
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 10_000,
        "heartbeat.interval.ms": 1_000,
        "max.poll.interval.ms": 300_000,
        "partition.assignment.strategy": "cooperative-sticky",
    }
    cfg.update(extra)
    return Consumer(cfg)


def admin(settings: Settings) -> AdminClient:
    return AdminClient(settings.kafka_config())


def transactional_producer(settings: Settings, stage: str, instance: str, stop: threading.Event) -> Producer:
    """A transactional producer with a stable id per (stage, instance): init fences any predecessor with
    the same id (a killed worker). Retries while the broker is unreachable, so an outage never kills a worker."""
    tid = f"{settings.topic_prefix}docpipe.{stage}.{instance}"
    delay = 1.0
    while True:
        p = producer(settings, transactional_id=tid)
        try:
            p.init_transactions(30.0)
            return p
        except KafkaException as exc:
            if stop.is_set():
                raise
            log.warning("cannot initialise transactions (%s); retrying in %.0fs", exc.args[0], delay)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


def ensure_ledger_topic(settings: Settings, reader: Consumer, input_topic: str, stage: str) -> None:
    """The stage's ledger is co-partitioned with its input; custom stages get theirs on first start."""
    from pipeline.runtime.admin import create_topics
    from pipeline.topics import ledger_spec

    meta = reader.list_topics(input_topic, timeout=30.0).topics.get(input_topic)
    if meta is None or meta.error is not None:
        raise RuntimeError(f"input topic {input_topic} does not exist (run `docpipe topics create`)")
    create_topics(settings, [ledger_spec(stage, len(meta.partitions))])
