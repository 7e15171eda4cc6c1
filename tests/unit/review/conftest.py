"""Shared fixtures: a migrated SQLite review database, users of every role, demo decisions."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipeline.blobstore import open_blobstore
from pipeline.config import Settings
from pipeline.contracts import BBox, BlobRef, Decision, Envelope
from pipeline.db import make_engine, migrate, session_factory
from pipeline.review import auth, demo
from pipeline.review.intake import enqueue
from pipeline.review.service import Actor
from pipeline.review.users import add_user

PASSWORD = "correct horse battery"
ROLES = ("reviewer", "approver", "admin", "auditor")


@pytest.fixture(autouse=True, scope="session")
def _cheap_argon2() -> Iterator[None]:
    """Low-cost argon2 parameters for tests only (the defaults cost ~100 ms per hash on purpose)."""
    original = auth._HASHER
    auth._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    auth._HASHER = original


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once per session; each test gets a copy (Alembic per test would dominate runtime)."""
    path = tmp_path_factory.mktemp("review-template") / "template.db"
    url = f"sqlite:///{path}"
    make_engine(url).dispose()
    migrate(url)
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", review_secret_key="test-secret-key-" + "x" * 32)


@pytest.fixture
def engine(settings: Settings, migrated_template: Path) -> Iterator[Engine]:
    target = Path(settings.db_url.removeprefix("sqlite:///"))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(migrated_template, target)
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

    counter = iter(range(1_000_000))
    rendered: dict[tuple[tuple[str, str], ...], tuple[BlobRef, dict[str, BBox]]] = {}

    def make(failed: tuple[str, ...] = ("low_confidence",), **invoice: str) -> tuple[int, Envelope[Decision]]:
        """A new queue item each call (distinct decision event), with a real rendered image."""
        inv = demo.DemoInvoice(**invoice)
        key = tuple(sorted(invoice.items()))
        if key not in rendered:  # rendering is the slow part; the same invoice is the same blob anyway
            rendered[key] = demo.store_invoice(blobs, inv)
        blob, boxes = rendered[key]
        env = demo.decision_envelope(
            demo.normalized_document(inv, blob, boxes), list(failed), salt=str(next(counter))
        )
        with sessions.begin() as db:
            item_id, _ = enqueue(db, env, sla_hours=48)
        return item_id, env

    return make


def csrf_of(html: str) -> str:
    import re

    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "page has no CSRF token"
    return m[1]


@pytest.fixture
def app(settings: Settings, engine: Engine, actors: dict[str, Actor]):  # type: ignore[no-untyped-def]
    from pipeline.review.web.app import create_app

    return create_app(settings, engine)


@pytest.fixture
def client_for(app):  # type: ignore[no-untyped-def]
    """client_for('reviewer') -> a signed-in TestClient; client_for(None) -> anonymous."""
    from fastapi.testclient import TestClient

    def make(username: str | None):  # type: ignore[no-untyped-def]
        client = TestClient(app, follow_redirects=False)
        if username is not None:
            token = csrf_of(client.get("/login").text)
            r = client.post(
                "/login", data={"csrf": token, "username": username, "password": PASSWORD, "next": "/queue"}
            )
            assert r.status_code == 303, r.text
        return client

    return make
