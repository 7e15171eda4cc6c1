"""Shared fixtures. `kafka_broker` starts one real KRaft broker per test session (infra/kafka/kafka.sh);
`pipeline_env` gives each test its own topic prefix, blob store and database on it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kafka_harness import Broker, Pipeline, broker_session


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if os.environ.get("DOCPIPE_TEST_BOOTSTRAP"):
        port = os.environ["DOCPIPE_TEST_BOOTSTRAP"].rpartition(":")[2]
        yield Broker(home=Path("/nonexistent"), port=int(port), controller_port=0)
        return
    yield from broker_session(tmp_path_factory.mktemp("broker"))


@pytest.fixture
def pipeline_env(kafka_broker: Broker, tmp_path: Path) -> Iterator[Pipeline]:
    from pipeline.runtime.admin import create_topics

    env = Pipeline(broker=kafka_broker, home=tmp_path)
    create_topics(env.settings(partitions=6))
    try:
        yield env
    finally:
        env.stop_all()
