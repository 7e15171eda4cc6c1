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

DOCS = int(os.environ.get("DOCPIPE_CHAOS_DOCS", "60"))  # CI: 60; the recorded run: 1000
REPORT = os.environ.get("DOCPIPE_CHAOS_REPORT")  # also write the report (what was killed when) here
SCALED = DOCS > 60
if SCALED:  # the suite-wide 600 s pytest timeout fits the CI size only
    pytestmark.append(pytest.mark.timeout(int(3.0 * DOCS + 900)))


def test_chaos_run_ends_with_every_document_terminal_exactly_once(pipeline_env: Pipeline, tmp_path: Path) -> None:
    if not find_bin("initdb"):
        pytest.skip("PostgreSQL server binaries not installed (Debian package `postgresql`)")
    if pipeline_env.broker.home == Path("/nonexistent"):
        pytest.skip("external broker (DOCPIPE_TEST_BOOTSTRAP) cannot be restarted by the test")
    # invoices, receipts and PO changes from one world (one refdata set); structured PO changes go
    # straight through, so the ERP sink is exercised under chaos too
    # beyond the CI size the extra invoices are born-digital, so a 1,000-document run is bounded by
    # extraction, not by OCR of hundreds of scans
    files = generate_demo_set(tmp_path / "docs", seed=21, n_invoices=DOCS - 16, n_receipts=4, n_po_changes=6,
                              born_digital_from=44 if SCALED else None)
    pg = TempPostgres()
    pg.start()
    try:
        admin = create_engine(pg.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('CREATE DATABASE "chaos"'))
        admin.dispose()
        url = pg.url.rsplit("/", 1)[0] + "/chaos"
        # kills keep coming through most of a scaled run; the broker and the database go down mid-stream
        plan = ChaosPlan(files=files, refdata=tmp_path / "docs" / "refdata", kill_every_s=6.0,
                         max_kills=max(6, min(40, DOCS // 25)),
                         broker_restart_at_s=60.0 if SCALED else 12.0, db_restart_at_s=120.0 if SCALED else 24.0,
                         timeout_s=max(900.0, 3.0 * DOCS), seed=5, database_url=url)
        report = run_chaos(pipeline_env.settings(), plan,
                           ChaosControls(restart_broker=pipeline_env.broker.restart, restart_database=pg.restart))
    finally:
        pg.stop()
    for path in filter(None, (tmp_path / "chaos-report.json", REPORT and Path(REPORT))):
        path.write_text(json.dumps(report, indent=2))
    actions = [e["action"] for e in report["events"]]
    assert actions.count("kill -9") >= 3 and "stop" in actions, report["events"]
    assert report["documents"] == len(files)
    assert report["outcomes"].get("approved", 0) >= 1, report["outcomes"]
    assert report["unfinished"] == [], report["outcomes"]
    assert report["approved_events_duplicated"] == []
    assert report["erp_missing"] == [] and report["erp_duplicated"] == []
