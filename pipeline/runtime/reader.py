"""Read a topic from the beginning to its current end (read_committed), or follow it: for CLIs and tests."""

from __future__ import annotations

import time
from collections.abc import Iterator

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, KafkaError, Message, TopicPartition

from pipeline.config import Settings
from pipeline.runtime.clients import consumer


def read_topic(settings: Settings, topic: str, *, partitions: list[int] | None = None,
               timeout_s: float = 60.0) -> Iterator[Message]:
    """Every committed message now in `topic` (physical name), partition by partition order."""
    reader = consumer(settings, group=None, **{"enable.partition.eof": True})
    try:
        md = reader.list_topics(topic, timeout=10.0)
        if topic not in md.topics or md.topics[topic].error is not None:
            raise LookupError(f"topic {topic} does not exist")
        parts = partitions if partitions is not None else sorted(md.topics[topic].partitions)
        ends: dict[int, int] = {}
        for p in parts:
            low, high = reader.get_watermark_offsets(TopicPartition(topic, p), timeout=10.0)
            if high > low:
                ends[p] = high
        if not ends:
            return
        reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        remaining = set(ends)
        deadline = time.monotonic() + timeout_s
        while remaining and time.monotonic() < deadline:
            for msg in reader.consume(num_messages=500, timeout=0.5):
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        remaining.discard(msg.partition())
                    continue
                yield msg
                if msg.offset() + 1 >= ends[msg.partition()]:
                    remaining.discard(msg.partition())
        if remaining:
            raise TimeoutError(f"{topic}: partitions {sorted(remaining)} not read to the end in {timeout_s}s")
    finally:
        reader.close()


def follow_topic(settings: Settings, topic: str, *, from_beginning: bool = False,
                 stop_after_idle_s: float | None = None) -> Iterator[Message]:
    reader = consumer(settings, group=None)
    try:
        md = reader.list_topics(topic, timeout=10.0)
        if topic not in md.topics or md.topics[topic].error is not None:
            raise LookupError(f"topic {topic} does not exist")
        start = OFFSET_BEGINNING if from_beginning else OFFSET_END
        reader.assign([TopicPartition(topic, p, start) for p in md.topics[topic].partitions])
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
