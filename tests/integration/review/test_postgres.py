"""The review store on a real PostgreSQL server: migrations, races, idempotent intake, audit chain."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.db.base import alembic_config
from pipeline.review import audit, demo, queue, service
from pipeline.review.intake import enqueue
from pipeline.review.models import Item, OutboxEvent, State
from pipeline.review.users import add_user
from tests.review_support import race, race_claims

pytestmark = pytest.mark.postgres


def _actors(sessions: sessionmaker[Session], *names: str) -> list[service.Actor]:
    with sessions.begin() as db:
        return [service.Actor.of(add_user(db, n, "correct horse battery", "approver")) for n in names]


def _env(i: int, failed: tuple[str, ...] = ("low_confidence",), **inv: str):  # type: ignore[no-untyped-def]
    doc = demo.normalized_document(demo.DemoInvoice(**inv), demo.synthetic_blob(i), {})
    return demo.decision_envelope(doc, list(failed), salt=str(i))


def test_migration_creates_the_schema_and_downgrades_cleanly(pg_url: str, pg_engine) -> None:  # type: ignore[no-untyped-def]
    from alembic import command

    tables = set(inspect(pg_engine).get_table_names())
    assert {"review_items", "review_audit", "review_outbox", "review_users", "review_reason_counts"} <= tables
    indexes = {ix["name"] for ix in inspect(pg_engine).get_indexes("review_items")}
    assert "ix_review_items_open_reason_sla_due_at" in indexes
    command.downgrade(alembic_config(pg_url), "0001_refdata")
    pg_engine.dispose()
    assert not {t for t in inspect(pg_engine).get_table_names() if t.startswith("review_")}
    command.upgrade(alembic_config(pg_url), "head")


def test_two_reviewers_claiming_at_once_exactly_one_wins(pg_sessions: sessionmaker[Session]) -> None:
    a, b = _actors(pg_sessions, "ann", "bob")
    for i in range(10):
        with pg_sessions.begin() as db:
            item_id, _ = enqueue(db, _env(i), sla_hours=48)
        results = race_claims(pg_sessions, item_id, [a, b])
        assert sum(isinstance(r, str) for r in results) == 1, results


def test_concurrent_replays_of_one_decision_create_one_item(pg_sessions: sessionmaker[Session]) -> None:
    env = _env(1)

    def replay(_: int) -> bool:
        with pg_sessions.begin() as db:
            return enqueue(db, env, sla_hours=48)[1]

    results = race(6, replay)
    assert sorted(results) == [False] * 5 + [True]
    with pg_sessions() as db:
        assert db.scalar(select(func.count()).select_from(Item)) == 1
        assert queue.reason_counts(db) == [("low_confidence", 1)]


def test_concurrent_audit_appends_keep_one_valid_chain(pg_sessions: sessionmaker[Session]) -> None:
    def append(i: int) -> None:
        for j in range(10):
            with pg_sessions.begin() as db:
                audit.append(db, actor=f"u{i}", action="view", item_id=j)

    results = race(6, append)
    assert all(r is None for r in results), results
    with pg_sessions() as db:
        result = audit.verify_chain(db)
    assert result.ok and result.records == 60


def test_dual_control_and_outbox_on_postgres(pg_sessions: sessionmaker[Session]) -> None:
    a, b = _actors(pg_sessions, "ann", "bob")
    with pg_sessions.begin() as db:
        item_id, _ = enqueue(db, _env(5, total="50000.00"), sla_hours=48)
    for actor, expect in ((a, State.AWAITING_SECOND), (b, State.APPROVED)):
        with pg_sessions.begin() as db:
            version = service.claim(db, item_id, actor, ttl_s=600).version
        with pg_sessions.begin() as db:
            assert (
                service.approve(db, item_id, actor, version, "", threshold=Decimal("10000"), ttl_s=600)
                == expect
            )
    with pg_sessions() as db:
        assert db.scalar(select(func.count()).select_from(OutboxEvent)) == 3
        assert queue.reason_counts(db) == []


def test_keyset_pages_visit_every_open_item_once(pg_sessions: sessionmaker[Session]) -> None:
    with pg_sessions.begin() as db:
        for i in range(37):
            enqueue(
                db,
                _env(
                    i,
                    ("po_unmatched",) if i % 3 else ("low_confidence",),
                    total=f"{i % 7}.00",
                    vendor=f"Vendor {i % 4}",
                ),
                sla_hours=48,
            )
    for sort in queue.SORTS:
        for desc in (False, True):
            seen: list[int] = []
            q = queue.QueueQuery(sort=sort, desc=desc, limit=5)
            with pg_sessions() as db:
                while True:
                    page = queue.queue_page(db, q)
                    seen += [item.id for item, _ in page.rows]
                    if page.next_after is None:
                        break
                    q = queue.QueueQuery(sort=sort, desc=desc, limit=5, after=page.next_after)
            assert sorted(seen) == list(range(1, 38)) and len(seen) == 37, (sort, desc)
