"""Consumer lag: how many messages of each assigned partition a stage has not handled yet.

Lag = high watermark - the consumer's position (or its committed offset). KEDA scales on the same
quantity computed by the broker for the group; this in-process view feeds the worker's own gauge.
With transactional producers the high watermark also counts commit markers, so an idle partition
can show a lag of one or two: alerts should use a threshold, never "lag > 0".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

OFFSET_INVALID = -1001  # librdkafka: no position / no committed offset yet


class _TP(Protocol):
    topic: str
    partition: int
    offset: int


def partition_lag(low: int, high: int, position: int) -> int:
    """Messages left to consume in one partition; a consumer with no position yet owes everything retained."""
    if high < 0:
        return 0
    if position < 0:  # OFFSET_INVALID and the logical offsets (beginning/end/stored) -> from the start
        return max(high - max(low, 0), 0)
    return max(high - max(position, low), 0)


def lag_from_offsets(watermarks: dict[tuple[str, int], tuple[int, int]],
                     positions: Iterable[_TP]) -> dict[tuple[str, int], int]:
    """Pure core: per-(topic, partition) lag from (low, high) watermarks and consumer positions."""
    out: dict[tuple[str, int], int] = {}
    for tp in positions:
        key = (tp.topic, tp.partition)
        if key not in watermarks:
            continue
        low, high = watermarks[key]
        out[key] = partition_lag(low, high, tp.offset)
    return out


def strip_prefix(lags: dict[tuple[str, int], int], prefix: str) -> dict[tuple[str, int], int]:
    """Report logical topic names (the catalogue's), whatever prefix the deployment uses."""
    if not prefix:
        return lags
    return {(t[len(prefix):] if t.startswith(prefix) else t, p): v for (t, p), v in lags.items()}


def consumer_lag(consumer: Any, *, committed: bool = False,
                 timeout: float = 5.0) -> dict[tuple[str, int], int]:
    """Lag of every partition assigned to a confluent_kafka.Consumer.

    `committed=False` uses the fetch position (what this process has read); `committed=True` uses the
    group's committed offsets (what is durably done; with transactional workers this is the truthful
    backlog, and it is what KEDA's Kafka scaler sees).
    """
    assignment = consumer.assignment()
    if not assignment:
        return {}
    positions = consumer.committed(assignment, timeout=timeout) if committed else consumer.position(assignment)
    watermarks: dict[tuple[str, int], tuple[int, int]] = {}
    for tp in assignment:
        low, high = consumer.get_watermark_offsets(tp, timeout=timeout, cached=False)
        watermarks[(tp.topic, tp.partition)] = (low, high)
    return lag_from_offsets(watermarks, positions)


def group_lag(client: Any, topic: str, *, timeout: float = 5.0) -> dict[tuple[str, int], int]:
    """Group-wide lag of every partition of `topic`, from the group's committed offsets.

    `client` is a confluent_kafka.Consumer created with the group's `group.id` that never subscribes:
    it reads the committed offsets without joining the group, so it can run on its own thread while
    the worker's consumer rebalances. (Calling the worker's own consumer from another thread can
    deadlock against a pending rebalance callback.)
    """
    from confluent_kafka import TopicPartition

    md = client.list_topics(topic, timeout=timeout)
    meta = md.topics.get(topic)
    if meta is None or meta.error is not None:
        return {}
    tps = [TopicPartition(topic, p) for p in sorted(meta.partitions)]
    committed = client.committed(tps, timeout=timeout)
    watermarks = {(tp.topic, tp.partition): client.get_watermark_offsets(tp, timeout=timeout, cached=False)
                  for tp in tps}
    return lag_from_offsets(watermarks, committed)
