"""ERP test helpers on the shared session broker (tests/conftest.py: kafka_broker, pipeline_env)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest
from confluent_kafka import Producer, TopicPartition

from pipeline.config import Settings
from pipeline.contracts import Envelope
from pipeline.runtime.clients import consumer
from pipeline.runtime.reader import read_topic
from pipeline.topics import APPROVED
from tests.kafka_harness import Pipeline


@pytest.fixture
def erp_settings(pipeline_env: Pipeline) -> Settings:
    """Settings on a fresh topic prefix; every catalogue topic exists (created by pipeline_env)."""
    return pipeline_env.settings()


def produce(
    settings: Settings,
    events: Sequence[Envelope],
    *,
    chunk: int = 100,
    abort_every: int | None = None,
    aborted: list[Envelope] | None = None,
) -> None:
    """Produce like the pipeline does: transactions, key = document id. Optionally abort some
    transactions with `aborted` events in them (read_committed consumers must never see those)."""
    prod = Producer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "transactional.id": f"t-{uuid.uuid4()}",
            "partitioner": "murmur2_random",
            "linger.ms": 5,
        }
    )
    prod.init_transactions(30)
    topic = settings.topic(APPROVED)
    extra = list(aborted or [])
    for n, i in enumerate(range(0, len(events), chunk)):
        if abort_every and extra and n % abort_every == 0:
            prod.begin_transaction()
            ev = extra.pop()
            prod.produce(topic, key=ev.key, value=ev.model_dump_json().encode())
            prod.abort_transaction(30)
        prod.begin_transaction()
        for ev in events[i : i + chunk]:
            prod.produce(topic, key=ev.key, value=ev.model_dump_json().encode())
        prod.commit_transaction(30)


def produce_raw(settings: Settings, values: Sequence[tuple[bytes | None, bytes | None]]) -> None:
    prod = Producer({"bootstrap.servers": settings.bootstrap_servers, "partitioner": "murmur2_random"})
    for key, value in values:
        prod.produce(settings.topic(APPROVED), key=key, value=value)
    assert prod.flush(30) == 0


def read_all(settings: Settings, topic: str) -> list[bytes]:
    """Every committed value now in `topic` (physical name)."""
    return [m.value() for m in read_topic(settings, topic, timeout_s=30)]


def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    c = consumer(settings, group=None)
    try:
        parts = sorted(c.list_topics(topic, timeout=10).topics[topic].partitions)
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
    finally:
        c.close()
