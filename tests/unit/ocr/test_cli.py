from pathlib import Path

import typer
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.cli.output import command_group as group
from pipeline.ocr import synth


def test_ocr_command_prints_lines_and_json(tmp_path: Path) -> None:
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(synth.invoice_pdf(4))
    out = CliRunner().invoke(app, ["ocr", str(pdf)])
    assert out.exit_code == 0, out.output
    assert "text_layer" in out.output and "INVOICE" in out.output
    js = CliRunner().invoke(app, ["ocr", str(pdf), "--json"])
    assert js.exit_code == 0 and '"source": "text_layer"' in js.output


def test_ocr_command_bad_file_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "scan.pdf"
    bad.write_bytes(synth.text_pdf(["x"], encrypt="pw"))
    out = CliRunner().invoke(app, ["ocr", str(bad)])
    assert out.exit_code == 1
    assert out.output.strip() == "docpipe: error: scan.pdf: encrypted PDF: no password"


def test_eval_and_bench_groups_are_shared() -> None:
    demo = typer.Typer()
    first = group(demo, "eval", "x")
    assert group(demo, "eval", "y") is first
    assert sum(1 for g in demo.registered_groups if g.name == "eval") == 1


def test_eval_ocr_rescores_from_the_cache(tmp_path: Path, sroie: Path) -> None:
    """Scoring the same receipt again from the OCR cache gives the same figures without reading."""
    import json

    args = ["eval", "ocr", "--data", str(sroie), "--ids", "401", "--mode", "fast", "--json"]
    args += ["--ocr-cache", str(tmp_path)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert len(list(tmp_path.glob("*.json"))) == 1
    again = CliRunner().invoke(app, args)
    one, two = json.loads(first.stdout), json.loads(again.stdout)
    assert one["summary"]["line_recall"] == two["summary"]["line_recall"] > 0.8
    assert one["charset"] == "all" and one["ocr_cache"] == str(tmp_path)
    assert two["summary"]["s_per_receipt_median"] < one["summary"]["s_per_receipt_median"]
