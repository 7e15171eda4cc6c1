"""Idempotency ledger: a compacted topic per stage, co-partitioned with the stage's input.

A ledger record is written in the same Kafka transaction as the stage's outputs and offsets, so
"handled" is exactly as durable as the outputs. On partition assignment the worker reads the
ledger partitions it now owns; an event seen again (replay, resubmission) is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pipeline.config import Settings
from pipeline.runtime.reader import read_topic

log = logging.getLogger(__name__)


def load_ledger(settings: Settings, topic: str, partitions: Iterable[int], timeout_s: float = 120.0) -> set[str]:
    """Read the given ledger partitions up to their current end; return the handled keys."""
    parts = sorted(set(partitions))
    if not parts:
        return set()
    keys = {(m.key() or b"").decode() for m in read_topic(settings, topic, partitions=parts, timeout_s=timeout_s)
            if m.key() is not None and m.value() is not None}
    log.info("ledger %s: %d handled keys on partitions %s", topic, len(keys), parts)
    return keys
