"""CSV/JSONL export from a real broker, and a schema-only consumer over everything on the topics."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.erp import mapping
from pipeline.erp.examples import approved_event
from pipeline.erp.export import export
from pipeline.erp.sql_sink import SqlSink, SqlSinkOptions
from pipeline.topics import APPROVED, DLQ
from tests.erp_support import schema_errors
from tests.integration.erp.conftest import produce, produce_raw, read_all
from tests.kafka_harness import Pipeline

pytestmark = pytest.mark.kafka
ROOT = Path(__file__).resolve().parents[3]


def test_export_csv_and_jsonl_incremental_and_full(
    pipeline_env: Pipeline, erp_settings: Settings, tmp_path: Path
) -> None:
    first = [approved_event(i, salt="export") for i in range(40)]
    produce(erp_settings, first, chunk=20)
    out = tmp_path / "batch1.csv"
    res = export(erp_settings, out, "csv", group="erp-export")
    assert res.documents == 40
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == mapping.CSV_COLUMNS
    assert len(rows) - 1 == sum(len(e.payload.line_items) for e in first) == res.rows
    by_doc = {r[0]: r for r in rows[1:]}
    col = mapping.CSV_COLUMNS.index
    for e in first:
        r = by_doc[e.document_id]
        assert Decimal(r[col("total")]) == e.payload.total and "E" not in r[col("total")]
        assert r[col("document_date")] == e.payload.document_date.isoformat()

    with pytest.raises(FileExistsError):
        export(erp_settings, out, "csv", group="erp-export")

    second = [approved_event(i, salt="export") for i in range(40, 50)] + [
        approved_event(3, version=2, salt="export")
    ]
    produce(erp_settings, second, chunk=20)
    inc = export(erp_settings, tmp_path / "batch2.jsonl", "jsonl", group="erp-export")
    records = [json.loads(ln) for ln in (tmp_path / "batch2.jsonl").read_text().splitlines()]
    assert inc.documents == len(records) == len(second), "incremental export holds only what is new"
    assert {(r["document_id"], r["document_version"]) for r in records} == {
        (e.document_id, e.payload.document_version) for e in second
    }
    assert all(isinstance(ln["amount"], str) for r in records for ln in r["lines"])

    # Full dump through the CLI; it leaves the incremental position where it was.
    env = pipeline_env.env()
    full = tmp_path / "full.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "erp",
            "export",
            "--format",
            "jsonl",
            "--out",
            str(full),
            "--from-beginning",
            "--group",
            "erp-export",
            "--json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["documents"] == 51 == len(full.read_text().splitlines())
    empty = export(erp_settings, tmp_path / "batch3.csv", "csv", group="erp-export")
    assert empty.documents == 0 and len((tmp_path / "batch3.csv").read_text().splitlines()) == 1

    bad = subprocess.run(
        [sys.executable, "-m", "pipeline", "erp", "export", "--format", "xml", "--out", str(tmp_path / "x")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0 and "csv or jsonl" in bad.stderr


def test_schema_only_consumer_accepts_every_emitted_event(erp_settings: Settings, tmp_path: Path) -> None:
    """Everything on docs.approved and every dead letter the sinks emit validates against the JSON
    Schema alone (no pydantic), which is all an ERP team is given."""
    events = [approved_event(i, salt="schema") for i in range(60)] + [
        approved_event(i, version=2, salt="schema") for i in range(0, 60, 7)
    ]
    produce(erp_settings, events, chunk=30)
    produce_raw(erp_settings, [(b"k", b"\xff\xfe"), (None, b"[]")])
    SqlSink(
        erp_settings,
        SqlSinkOptions(db_url=f"sqlite:///{tmp_path / 'e.db'}", group="erp-schema", idle_exit_s=1.0),
    ).run()
    approved = [v for v in read_all(erp_settings, erp_settings.topic(APPROVED)) if v and v.startswith(b"{")]
    assert len(approved) == len(events)
    for raw in approved:
        assert schema_errors("docs.approved", raw) == []
    letters = read_all(erp_settings, erp_settings.topic(DLQ))
    assert len(letters) == 2
    for raw in letters:
        assert schema_errors("docs.dlq", raw) == []
