"""ERP test helpers on the shared session broker (tests/conftest.py: kafka_broker, pipeline_env)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from confluent_kafka import Producer, TopicPartition

from pipeline.config import Settings
from pipeline.contracts import Envelope
from pipeline.runtime.clients import consumer
from pipeline.runtime.reader import read_topic
from pipeline.topics import APPROVED
from tests.kafka_harness import Pipeline, free_port


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


def _pg_bindir() -> Path | None:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    for cand in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):  # Debian layout
        if (cand / "initdb").exists() and (cand / "pg_ctl").exists():
            return cand
    return None


@pytest.fixture(scope="session")
def erp_pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL server (initdb + pg_ctl as the `postgres` user when run as root),
    or the server named by DOCPIPE_TEST_POSTGRES_URL."""
    if os.environ.get("DOCPIPE_TEST_POSTGRES_URL"):
        yield os.environ["DOCPIPE_TEST_POSTGRES_URL"]
        return
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not installed")
    initdb, pg_ctl = str(bindir / "initdb"), str(bindir / "pg_ctl")
    as_pg: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        if not shutil.which("runuser") or subprocess.run(["id", "postgres"], capture_output=True).returncode:
            pytest.skip("running as root without a 'postgres' user to start PostgreSQL as")
        as_pg = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="docpipe-erp-pg-"))  # pytest's tmp dirs are private to root
    data = root / "data"
    if as_pg:
        shutil.chown(root, "postgres")
    port = free_port()
    subprocess.run(
        [*as_pg, initdb, "-D", str(data), "-A", "trust", "-U", "docpipe", "--no-sync"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*as_pg, pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "pg.log"), "-w", "start"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        yield f"postgresql+psycopg://docpipe@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_pg, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True, timeout=60
        )


@pytest.fixture
def erp_pg_db(erp_pg_url: str) -> str:
    """A fresh database per test on the session server."""
    from sqlalchemy import create_engine, text

    name = f"erp_{uuid.uuid4().hex[:10]}"
    eng = create_engine(erp_pg_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    eng.dispose()
    return erp_pg_url.rsplit("/", 1)[0] + f"/{name}"
