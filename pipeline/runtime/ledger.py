"""Idempotency ledger: a compacted topic per stage, co-partitioned with the stage's input.

A ledger record is written in the same Kafka transaction as the stage's outputs and offsets, so
"handled" is exactly as durable as the outputs. On partition assignment the worker reads the
ledger partitions it now owns; an event seen again (replay, resubmission) is skipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from pipeline.config import Settings
from pipeline.runtime.clients import consumer

log = logging.getLogger(__name__)


def load_ledger(settings: Settings, topic: str, partitions: Iterable[int], timeout_s: float = 60.0) -> set[str]:
    """Read the given ledger partitions up to their current end; return the handled keys."""
    parts = sorted(set(partitions))
    keys: set[str] = set()
    if not parts:
        return keys
    reader = consumer(settings, group=None, **{"enable.partition.eof": True})
    try:
        _await_metadata(reader, topic, parts, timeout_s)
        ends: dict[int, int] = {}
        for p in parts:
            low, high = reader.get_watermark_offsets(TopicPartition(topic, p), timeout=10.0)
            if high > low:
                ends[p] = high
        if not ends:
            return keys
        reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        remaining = set(ends)
        deadline = time.monotonic() + timeout_s
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"ledger {topic} partitions {sorted(remaining)} not read in {timeout_s}s")
            for msg in reader.consume(num_messages=1000, timeout=0.5):
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        remaining.discard(msg.partition())
                        continue
                    raise RuntimeError(f"ledger read failed: {err}")
                if msg.key() is not None and msg.value() is not None:
                    keys.add(msg.key().decode())
                if msg.offset() + 1 >= ends[msg.partition()]:
                    remaining.discard(msg.partition())
    finally:
        reader.close()
    log.info("ledger %s: %d handled keys on partitions %s", topic, len(keys), parts)
    return keys


def _await_metadata(reader: Any, topic: str, parts: list[int], timeout_s: float) -> None:
    """A ledger topic created moments ago may not be in this client's metadata yet."""
    deadline = time.monotonic() + timeout_s
    while True:
        meta = reader.list_topics(topic, timeout=10.0).topics.get(topic)
        if meta is not None and meta.error is None and set(parts) <= set(meta.partitions):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"ledger topic {topic} has no partitions {parts} after {timeout_s}s")
        time.sleep(0.2)
