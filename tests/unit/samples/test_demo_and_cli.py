"""The demo set has every kind of file the demo needs; the CLI reports bad requests in one line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.ingest.media import sniff
from pipeline.samples.demo import generate_demo_set


def test_demo_set_mix(tmp_path: Path) -> None:
    paths = generate_demo_set(tmp_path, seed=7, n_invoices=5, n_receipts=1, n_po_changes=1)
    media = {sniff(p.read_bytes()) for p in paths}
    assert media == {
        "application/pdf",
        "image/jpeg",
        "image/tiff",
        "application/vnd.docpipe.po-change+json",
    } or (media >= {"application/pdf", "image/jpeg", "image/tiff", "application/vnd.docpipe.po-change+json"})
    assert all(p.parent == tmp_path / "documents" for p in paths)
    assert sorted(p.name for p in (tmp_path / "refdata").iterdir()) == [
        "goods_receipts.csv",
        "po_lines.csv",
        "purchase_orders.csv",
        "vendors.csv",
    ]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(manifest["documents"]) == len(paths)
    assert all((tmp_path / e["truth"]).exists() for e in manifest["documents"])
    # same call, same bytes
    again = generate_demo_set(tmp_path / "again", seed=7, n_invoices=5, n_receipts=1, n_po_changes=1)
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]


def test_cli_generate_and_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(
        app, ["samples", "generate", "--kind", "receipt", "--count", "2", "--out", str(tmp_path), "--json"]
    )
    assert ok.exit_code == 0, ok.output
    summary = json.loads(ok.stdout)
    assert summary["documents"] == 2
    bad = runner.invoke(
        app,
        ["samples", "generate", "--kind", "invoice", "--out", str(tmp_path), "--layouts", "inv-classic,nope"],
    )
    assert bad.exit_code != 0
    assert "unknown invoice layout(s) nope" in bad.output
    again = runner.invoke(
        app, ["samples", "generate", "--kind", "receipt", "--count", "1", "--out", str(tmp_path)]
    )
    assert again.exit_code != 0 and "already holds generated documents" in again.output
    replaced = runner.invoke(
        app,
        ["samples", "generate", "--kind", "receipt", "--count", "1", "--out", str(tmp_path), "--overwrite"],
    )
    assert replaced.exit_code == 0, replaced.output
    assert len(list((tmp_path / "documents").iterdir())) == 1
    bad_kind = runner.invoke(app, ["samples", "generate", "--kind", "memo", "--out", str(tmp_path)])
    assert bad_kind.exit_code != 0 and "unknown kind" in bad_kind.output


def test_cli_refdata_matches_generate(tmp_path: Path) -> None:
    runner = CliRunner()
    runner.invoke(
        app,
        [
            "samples",
            "generate",
            "--kind",
            "invoice",
            "--count",
            "6",
            "--seed",
            "3",
            "--out",
            str(tmp_path / "gen"),
        ],
    )
    res = runner.invoke(
        app, ["samples", "refdata", "--out", str(tmp_path / "ref"), "--seed", "3", "--invoices", "6"]
    )
    assert res.exit_code == 0, res.output
    for name in ("vendors.csv", "purchase_orders.csv", "po_lines.csv", "goods_receipts.csv"):
        assert (tmp_path / "ref" / name).read_bytes() == (tmp_path / "gen" / "refdata" / name).read_bytes()
