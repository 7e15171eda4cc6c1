"""Kafka client construction in one place: security settings, partitioner, isolation."""

from __future__ import annotations

import os
import socket
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from pipeline.config import Settings
from pipeline.topics import LARGE_MESSAGE_BYTES


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
