"""Read a topic from the beginning to its current end (read_committed), or follow it.

Used by the ledger, the CLIs and tests. Reads survive a broker restart: metadata and watermark
look-ups are retried until the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, KafkaError, KafkaException, Message, TopicPartition

from pipeline.config import Settings
from pipeline.runtime.clients import consumer


def _partitions(reader: Any, topic: str, wanted: list[int] | None, deadline: float) -> list[int]:
    """The topic's partitions (all, or `wanted` once they exist: a just-created topic may lag)."""
    while True:
        try:
            meta = reader.list_topics(topic, timeout=5.0).topics.get(topic)
        except KafkaException:
            meta = None
        if meta is not None and meta.error is not None and meta.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            if wanted is None:
                raise LookupError(f"topic {topic} does not exist")
        elif meta is not None and meta.error is None and meta.partitions:
            have = sorted(meta.partitions)
            if wanted is None:
                return have
            if set(wanted) <= set(have):
                return sorted(wanted)
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {topic}: partitions {wanted or 'all'} not available")
        time.sleep(0.3)


def _end_offsets(reader: Any, topic: str, parts: list[int], deadline: float) -> dict[int, int]:
    ends: dict[int, int] = {}
    for p in parts:
        while True:
            try:
                low, high = reader.get_watermark_offsets(TopicPartition(topic, p), timeout=5.0)
                break
            except KafkaException as exc:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{topic}[{p}]: no watermarks ({exc.args[0]})") from None
                time.sleep(0.5)
        if high > low:
            ends[p] = high
    return ends


def read_topic(settings: Settings, topic: str, *, partitions: list[int] | None = None,
               timeout_s: float = 120.0) -> Iterator[Message]:
    """Every committed message now in `topic` (physical name), in order within each partition."""
    deadline = time.monotonic() + timeout_s
    reader = consumer(settings, group=None, **{"enable.partition.eof": True})
    try:
        parts = _partitions(reader, topic, partitions, deadline)
        ends = _end_offsets(reader, topic, parts, deadline)
        if not ends:
            return
        reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        remaining = set(ends)
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: partitions {sorted(remaining)} not read to the end in {timeout_s}s")
            for msg in reader.consume(num_messages=1000, timeout=0.5):
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        remaining.discard(msg.partition())
                    continue
                yield msg
                partition, offset = msg.partition() or 0, msg.offset() or 0
                if offset + 1 >= ends[partition]:
                    remaining.discard(partition)
    finally:
        reader.close()


def follow_topic(settings: Settings, topic: str, *, from_beginning: bool = False,
                 stop_after_idle_s: float | None = None) -> Iterator[Message]:
    reader = consumer(settings, group=None)
    try:
        parts = _partitions(reader, topic, None, time.monotonic() + 60)
        start = OFFSET_BEGINNING if from_beginning else OFFSET_END
        reader.assign([TopicPartition(topic, p, start) for p in parts])
        idle_since = time.monotonic()
        while True:
            msg = reader.poll(0.5)
            if msg is None or msg.error() is not None:
                if stop_after_idle_s is not None and time.monotonic() - idle_since > stop_after_idle_s:
                    return
                continue
            idle_since = time.monotonic()
            yield msg
    finally:
        reader.close()
