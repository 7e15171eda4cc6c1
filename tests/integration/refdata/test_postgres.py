"""The refdata schema, loader, repository and gate stage against a real PostgreSQL server."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from pipeline.config import Settings
from pipeline.db import make_engine, migrate
from pipeline.refdata.claims import GateRecord
from pipeline.refdata.loader import RefDataLoadError, load_dir
from pipeline.refdata.records import DocumentIndexEntry
from pipeline.refdata.repository import RefDataRepository
from pipeline.refdata.sample import write_sample
from tests.unit.refdata.claims_race import billing_race, duplicate_race

pytestmark = pytest.mark.postgres


@pytest.fixture()
def pg(pg_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate(pg_url)
    return engine


def write_sample_db(engine: Engine) -> None:
    with tempfile.TemporaryDirectory() as d:
        write_sample(Path(d))
        load_dir(Path(d), engine)


def test_migrate_load_snapshot_and_duplicates(pg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_sample(tmp_path / "csv")
    assert load_dir(tmp_path / "csv", pg).counts["vendors"] == 6
    snap = RefDataRepository(pg).snapshot()
    po = snap.purchase_order("PO-1001")
    assert po is not None and po.total == Decimal("330.00") and po.lines[1].unit_price == Decimal("0.40")
    repo = RefDataRepository(pg)
    entry = DocumentIndexEntry("a" * 64, "V001", "INV-1", Decimal("392.70"), date(2026, 11, 15), "EUR")
    first = GateRecord(entry, "invoice", "PO-1001", {1: Decimal(60)})
    assert repo.record_and_claim(first, datetime(2026, 11, 23, tzinfo=UTC)).duplicates == ()
    assert repo.record_and_claim(first).duplicates == ()  # a replay is not its own duplicate
    other = DocumentIndexEntry("b" * 64, "V001", "INV-2", Decimal("392.7"), date(2026, 11, 15))
    prior = repo.record_and_claim(GateRecord(other, "invoice", "PO-1001", {1: Decimal(10)}))
    assert [d.document_id for d in prior.duplicates] == ["a" * 64] and prior.billed == {1: Decimal(60)}


def test_concurrent_copies_of_one_invoice_have_exactly_one_owner(pg, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    write_sample_db(pg)
    duplicate_race(pg_url)


def test_concurrent_invoices_on_one_po_line_see_each_other(pg, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    write_sample_db(pg)
    billing_race(pg_url)


def test_bad_load_writes_nothing(pg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_sample(tmp_path / "csv")
    with (tmp_path / "csv" / "po_lines.csv").open("a") as fh:
        fh.write("PO-7777,1,S,Thing,1,2,\n")
    with pytest.raises(RefDataLoadError, match="unknown po_number"):
        load_dir(tmp_path / "csv", pg)
    with pg.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM vendors")).scalar() == 0


def test_gate_stage_on_postgres(pg_url: str, pg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from pipeline.contracts import Decision, Envelope, NormalizedDocument, Outcome, Producer
    from pipeline.gate.stage import build_stage
    from pipeline.normalize.config import NormalizeConfig
    from pipeline.normalize.document import normalize_extraction
    from pipeline.runtime import LocalRunner
    from pipeline.topics import DECIDED
    from tests.unit.normalize.factories import acme_invoice, ref

    write_sample(tmp_path / "csv")
    load_dir(tmp_path / "csv", pg)
    stage = build_stage(Settings(home=tmp_path, database_url=pg_url))
    doc = normalize_extraction(acme_invoice(), ref(), NormalizeConfig())
    runner = LocalRunner(stage)
    outcomes = []
    for doc_id in ("1" * 64, "2" * 64):
        env = Envelope[NormalizedDocument](
            event_id=f"ev-{doc_id[0]}",
            event_type="docs.normalized",
            document_id=doc_id,
            correlation_id="c",
            producer=Producer(stage="normalize", version="1"),
            payload=doc,
            submitted_at=datetime(2026, 11, 23, tzinfo=UTC),
        )
        [event] = runner.run([env]).on(DECIDED)
        outcomes.append(Decision.model_validate(event.payload.model_dump()))
    dup = next(r for r in outcomes[1].reasons if r.rule_id == "duplicates.invoice")
    assert not dup.passed and outcomes[1].outcome == Outcome.exception
