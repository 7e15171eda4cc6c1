import json
from datetime import date
from pathlib import Path

import pytest

from pipeline.contracts import DocKind
from pipeline.normalize.config import NormalizeConfig
from pipeline.normalize.document import normalize_extraction
from pipeline.normalize.quality import flatten, prometheus_text, read_documents, run_quality
from tests.unit.normalize.factories import acme_invoice, extraction, ref

TODAY = date(2026, 11, 23)


def docs():  # type: ignore[no-untyped-def]
    good = [
        normalize_extraction(acme_invoice(invoice_number=f"INV-{i}"), ref(), NormalizeConfig())
        for i in range(6)
    ]
    bad = normalize_extraction(
        acme_invoice(invoice_date="31/02/2026", currency="JPY"), ref(), NormalizeConfig()
    )
    receipt = normalize_extraction(
        extraction(DocKind.receipt, merchant="Corner Shop", date="2026-11-01", total="RM 3.00"),
        ref(),
        NormalizeConfig(),
    )
    return [*good, bad, receipt]


def test_flatten_row() -> None:
    row = flatten(docs()[0], TODAY)
    assert row["total"] == 392.70 and row["doc_date"] == "2026-11-15" and row["doc_age_days"] == 8
    assert row["vendor_matched"] == 1.0 and row["invalid_fields"] == 0 and row["currency"] == "EUR"


def test_read_documents_accepts_envelopes_decisions_and_skips_garbage(tmp_path: Path) -> None:
    d = docs()[0]
    p = tmp_path / "n.jsonl"
    p.write_text(
        "\n".join(
            [
                d.model_dump_json(),
                json.dumps({"payload": d.model_dump(mode="json")}),
                json.dumps({"outcome": "exception", "document": d.model_dump(mode="json")}),
                "not json",
                json.dumps({"kind": "invoice"}),
            ]
        )
        + "\n"
    )
    got, skipped = read_documents(p)
    assert len(got) == 3 and len(skipped) == 2 and skipped[0].startswith("n.jsonl:4")
    last, _ = read_documents(p, last=2)
    assert last == []  # the last two lines are the bad ones


@pytest.mark.slow
def test_suite_reports_failures_without_raising() -> None:
    report = run_quality(docs(), TODAY)
    by = {(o.expectation, o.column): o for o in report.outcomes}
    assert by[("expect_column_values_to_be_in_set", "currency")].success is False  # JPY
    assert by[("expect_column_values_to_not_be_null", "doc_date")].success is False  # 31/02
    assert by[("expect_column_values_to_match_regex", "doc_date")].success
    assert by[("expect_column_mean_to_be_between", "vendor_matched")].success
    assert not report.success and report.as_dict()["failed"] >= 2
    text = prometheus_text(report)
    assert 'column="currency"} 0' in text and "docpipe_quality_records 8" in text
    clean = run_quality(docs()[:6], TODAY)
    assert clean.success, [o for o in clean.outcomes if not o.success]


@pytest.mark.slow
def test_cli_shows_failures_and_exits_zero(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    p = tmp_path / "n.jsonl"
    p.write_text("".join(d.model_dump_json() + "\n" for d in docs()))
    prom = tmp_path / "q.prom"
    res = CliRunner().invoke(
        app, ["quality", str(p), "--today", "2026-11-23", "--metrics", str(prom), "--json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout.strip().splitlines()[-1])
    assert data["success"] is False and data["failed"] >= 2 and data["records"] == 8
    assert "docpipe_quality_records 8" in prom.read_text()
    human = CliRunner().invoke(app, ["quality", str(p), "--today", "2026-11-23", "--last", "3"])
    assert human.exit_code == 0 and "FAIL expect_column_values_to_be_in_set(currency)" in human.output
