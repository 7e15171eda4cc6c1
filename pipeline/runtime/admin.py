"""Explicit topic creation from the catalogue (the broker never auto-creates)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import NewTopic

from pipeline.config import Settings
from pipeline.runtime.clients import admin
from pipeline.topics import TopicSpec, all_specs


@dataclass
class TopicState:
    name: str
    partitions: int
    created: bool


def create_topics(settings: Settings, specs: list[TopicSpec] | None = None,
                  timeout_s: float = 30.0) -> list[TopicState]:
    specs = specs if specs is not None else all_specs(settings.partitions)
    client = admin(settings)
    new = [NewTopic(settings.topic(s.name), num_partitions=s.partitions, replication_factor=-1,
                    config=s.config()) for s in specs]
    futures = client.create_topics(new, operation_timeout=timeout_s, request_timeout=timeout_s)
    states: list[TopicState] = []
    for spec in specs:
        name = settings.topic(spec.name)
        try:
            futures[name].result(timeout=timeout_s)
            states.append(TopicState(name, spec.partitions, True))
        except KafkaException as exc:
            err = exc.args[0]
            if isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                states.append(TopicState(name, spec.partitions, False))
            else:
                raise
    _await_leaders(client, [s.name for s in states], timeout_s)
    return states


def _await_leaders(client: Any, topics: list[str], timeout_s: float) -> None:
    """Wait until every partition of `topics` has a leader in the cluster metadata.

    An idempotent producer that writes to a topic its metadata still calls non-existent resets its
    sequence numbers, and the broker then drops later batches as "duplicates" while reporting
    success (librdkafka#3712-style loss, reproduced here against Kafka 3.9 and 4.1). So nothing is
    produced to a topic before it is fully visible.
    """
    deadline = time.monotonic() + timeout_s
    pending = set(topics)
    while pending:
        md = client.list_topics(timeout=10.0)
        for name in list(pending):
            meta = md.topics.get(name)
            if meta is not None and meta.error is None and meta.partitions and all(
                    p.leader >= 0 for p in meta.partitions.values()):
                pending.discard(name)
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics without leaders after {timeout_s}s: {sorted(pending)[:5]}")
        time.sleep(0.2)


def list_topics(settings: Settings, timeout_s: float = 10.0) -> dict[str, int]:
    md = admin(settings).list_topics(timeout=timeout_s)
    return {name: len(t.partitions) for name, t in md.topics.items() if not name.startswith("__")}
