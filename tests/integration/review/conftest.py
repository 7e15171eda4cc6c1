"""A throwaway PostgreSQL cluster for the review store tests (one per session, one database per test)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipeline.db import make_engine, migrate, session_factory
from pipeline.review import auth
from pipeline.review.pgtemp import TempPostgres, find_bin


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[TempPostgres]:
    if not find_bin("initdb") or not find_bin("pg_ctl"):
        pytest.skip("PostgreSQL server binaries not installed (Debian package `postgresql`)")
    pg = TempPostgres()
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture
def pg_url(pg_cluster: TempPostgres) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg_cluster.url.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    migrate(pg_url)
    engine = make_engine(pg_url, pool_size=10)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_sessions(pg_engine: Engine) -> sessionmaker[Session]:
    return session_factory(pg_engine)


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
