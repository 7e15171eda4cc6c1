"""Real-broker fixtures for the ERP tests: isolated topics per test (unique prefix)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Sequence

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from pipeline.config import Settings
from pipeline.contracts import Envelope
from pipeline.topics import APPROVED, DLQ, STATUS

PARTITIONS = 3


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    bootstrap = os.environ.get("DOCPIPE_TEST_KAFKA")
    if not bootstrap:
        pytest.skip("set DOCPIPE_TEST_KAFKA=host:port (a real broker) to run Kafka integration tests")
    return bootstrap


@pytest.fixture
def erp_settings(kafka_bootstrap: str) -> Iterator[Settings]:
    prefix = f"erp-{uuid.uuid4().hex[:8]}."
    settings = Settings(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, topic_prefix=prefix)
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    names = [settings.topic(t) for t in (APPROVED, DLQ, STATUS)]
    futures = admin.create_topics(
        [NewTopic(n, num_partitions=PARTITIONS, replication_factor=1) for n in names]
    )
    for f in futures.values():
        f.result(timeout=30)
    yield settings
    for f in admin.delete_topics(names, operation_timeout=30).values():
        with contextlib.suppress(Exception):  # best-effort cleanup
            f.result(timeout=30)


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
    c = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": "erp-test-read",
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    out, eof = [], set()
    try:
        while len(eof) < PARTITIONS:
            m = c.poll(2.0)
            if m is None:
                break
            if m.error():
                eof.add(m.partition())
                continue
            out.append(m.value())
    finally:
        c.close()
    return out
