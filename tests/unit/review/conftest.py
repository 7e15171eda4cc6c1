"""Shared fixtures: a migrated SQLite review database, users of every role, demo decisions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipeline.blobstore import open_blobstore
from pipeline.config import Settings
from pipeline.contracts import Decision, Envelope
from pipeline.db import make_engine, migrate, session_factory
from pipeline.review import demo
from pipeline.review.intake import enqueue
from pipeline.review.service import Actor
from pipeline.review.users import add_user

PASSWORD = "correct horse battery"
ROLES = ("reviewer", "approver", "admin", "auditor")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", review_secret_key="test-secret-key-" + "x" * 32)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    migrate(settings.db_url)
    eng = make_engine(settings.db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def actors(sessions: sessionmaker[Session]) -> dict[str, Actor]:
    out = {}
    with sessions.begin() as db:
        for role in ROLES:
            out[role] = Actor.of(add_user(db, role, PASSWORD, role))
        out["approver2"] = Actor.of(add_user(db, "approver2", PASSWORD, "approver"))
        out["reviewer2"] = Actor.of(add_user(db, "reviewer2", PASSWORD, "reviewer"))
    return out


@pytest.fixture
def make_item(sessions: sessionmaker[Session], settings: Settings):  # type: ignore[no-untyped-def]
    blobs = open_blobstore(settings.blob_root)

    def make(failed: tuple[str, ...] = ("low_confidence",), **invoice: str) -> tuple[int, Envelope[Decision]]:
        inv = demo.DemoInvoice(**invoice)
        blob, boxes = demo.store_invoice(blobs, inv)
        env = demo.decision_envelope(demo.normalized_document(inv, blob, boxes), list(failed))
        with sessions.begin() as db:
            item_id, _ = enqueue(db, env, sla_hours=48)
        return item_id, env

    return make
