"""The SQL sink on PostgreSQL: exact NUMERIC amounts, row locks serialising concurrent sinks."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import text

from pipeline.config import Settings
from pipeline.db import migrate
from pipeline.erp.examples import approved_event
from pipeline.erp.sql_sink import SqlSink, SqlSinkOptions
from pipeline.erp.store import ErpStore, Position, sink_engine
from tests.integration.erp.conftest import produce

T = "docs.approved"


@pytest.mark.postgres
def test_exact_amounts_and_version_rules_on_postgres(erp_pg_db: str) -> None:
    migrate(erp_pg_db)
    store = ErpStore(sink_engine(erp_pg_db), "g")
    precise = approved_event(1)
    precise.payload.total = Decimal("12345678901234.123456")
    precise.payload.line_items[0].unit_price = Decimal("0.000001")
    v2 = approved_event(1, version=2)
    assert store.apply([(Position(T, 0, 0), v2), (Position(T, 0, 1), precise)]).as_dict()["superseded"] == 1
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT document_version, total, is_current FROM erp_documents ORDER BY 1")
        ).all()
        price = conn.execute(
            text("SELECT unit_price FROM erp_document_lines WHERE document_version = 1 AND line_no = 1")
        ).scalar()
    assert rows == [(1, Decimal("12345678901234.123456"), False), (2, v2.payload.total, True)]
    assert price == Decimal("0.000001")
    store.engine.dispose()


@pytest.mark.postgres
def test_concurrent_sinks_on_one_partition_apply_each_event_once(erp_pg_db: str) -> None:
    """Two sink instances (e.g. a zombie after a rebalance) applying the same records at once: the
    offset row lock serialises them and the event-id check makes the second a no-op."""
    migrate(erp_pg_db)
    events = [approved_event(i, salt="race") for i in range(300)]
    ErpStore(sink_engine(erp_pg_db), "g").apply([(Position(T, 0, 0), None)])  # the offset row exists
    batch = [(Position(T, 0, i + 1), e) for i, e in enumerate(events)]
    results, errors = [], []

    def run() -> None:
        try:
            results.append(ErpStore(sink_engine(erp_pg_db), "g").apply(batch))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sorted((r.inserted, r.duplicates) for r in results) == [(0, 300), (300, 0)]
    store = ErpStore(sink_engine(erp_pg_db), "g")
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM erp_documents")).scalar() == 300
        assert conn.execute(text("SELECT count(*) FROM erp_applied_events")).scalar() == 300
    assert store.stored_offsets(T) == {0: 301}


@pytest.mark.postgres
@pytest.mark.kafka
def test_sql_sink_on_postgres_replay_changes_nothing(erp_settings: Settings, erp_pg_db: str) -> None:
    events = [approved_event(i, salt="pg") for i in range(200)] + [
        approved_event(i, version=2, salt="pg") for i in range(0, 200, 5)
    ]
    produce(erp_settings, events, chunk=50)
    opts = SqlSinkOptions(db_url=erp_pg_db, group="erp-pg", idle_exit_s=1.0)
    first = SqlSink(erp_settings, opts).run()
    assert first.stats.inserted == 240

    def snapshot() -> list[tuple]:
        eng = sink_engine(erp_pg_db)
        with eng.connect() as conn:
            out = [
                tuple(r)
                for r in conn.execute(
                    text(
                        "SELECT d.document_id, d.document_version, d.is_current, d.total, d.applied_at, "
                        "count(l.line_no) FROM erp_documents d "
                        "LEFT JOIN erp_document_lines l USING (document_id, document_version) "
                        "GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2"
                    )
                )
            ]
            out += [tuple(r) for r in conn.execute(text("SELECT * FROM erp_offsets ORDER BY 1, 2, 3"))]
        eng.dispose()
        return out

    before = snapshot()
    again = SqlSink(
        erp_settings, SqlSinkOptions(db_url=erp_pg_db, group="erp-pg", from_beginning=True, idle_exit_s=1.0)
    ).run()
    assert again.stats.duplicates == 240 and again.stats.inserted == 0
    assert snapshot() == before
