"""Chaos, bounded and on loopback: workers SIGKILLed at random, the broker restarted once and the
database (PostgreSQL) restarted once during a run; afterwards every document has exactly one terminal
state and neither the approved topic nor the ERP tables hold a duplicate."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from pipeline.local.chaos import ChaosControls, ChaosPlan, run_chaos
from pipeline.review.pgtemp import TempPostgres, find_bin
from pipeline.samples.demo import generate_demo_set
from tests.kafka_harness import Pipeline

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

DOCS = int(os.environ.get("DOCPIPE_CHAOS_DOCS", "60"))


def test_chaos_run_ends_with_every_document_terminal_exactly_once(pipeline_env: Pipeline, tmp_path: Path) -> None:
    if not find_bin("initdb"):
        pytest.skip("PostgreSQL server binaries not installed (Debian package `postgresql`)")
    if pipeline_env.broker.home == Path("/nonexistent"):
        pytest.skip("external broker (DOCPIPE_TEST_BOOTSTRAP) cannot be restarted by the test")
    # invoices, receipts and PO changes from one world (one refdata set); structured PO changes go
    # straight through, so the ERP sink is exercised under chaos too
    files = generate_demo_set(tmp_path / "docs", seed=21, n_invoices=DOCS - 16, n_receipts=4, n_po_changes=6)
    pg = TempPostgres()
    pg.start()
    try:
        admin = create_engine(pg.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('CREATE DATABASE "chaos"'))
        admin.dispose()
        url = pg.url.rsplit("/", 1)[0] + "/chaos"
        plan = ChaosPlan(files=files, refdata=tmp_path / "docs" / "refdata", kill_every_s=6.0, max_kills=6,
                         broker_restart_at_s=12.0, db_restart_at_s=24.0, timeout_s=900.0, seed=5,
                         database_url=url)
        report = run_chaos(pipeline_env.settings(), plan,
                           ChaosControls(restart_broker=pipeline_env.broker.restart, restart_database=pg.restart))
    finally:
        pg.stop()
    (tmp_path / "chaos-report.json").write_text(json.dumps(report, indent=2))
    actions = [e["action"] for e in report["events"]]
    assert actions.count("kill -9") >= 3 and "stop" in actions, report["events"]
    assert report["documents"] == len(files)
    assert report["outcomes"].get("approved", 0) >= 1, report["outcomes"]
    assert report["unfinished"] == [], report["outcomes"]
    assert report["approved_events_duplicated"] == []
    assert report["erp_missing"] == [] and report["erp_duplicated"] == []
