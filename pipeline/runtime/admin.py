"""Explicit topic creation from the catalogue (the broker never auto-creates)."""

from __future__ import annotations

from dataclasses import dataclass

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
    return states


def list_topics(settings: Settings, timeout_s: float = 10.0) -> dict[str, int]:
    md = admin(settings).list_topics(timeout=timeout_s)
    return {name: len(t.partitions) for name, t in md.topics.items() if not name.startswith("__")}
