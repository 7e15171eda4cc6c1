"""`docpipe erp` refuses bad arguments with one readable line (no broker needed)."""

from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()


def test_webhook_rejects_non_http_url(tmp_path: Path) -> None:
    secret = tmp_path / "s"
    secret.write_text("abc\n")
    res = runner.invoke(app, ["erp", "webhook", "--url", "ftp://x", "--secret-file", str(secret)])
    assert res.exit_code != 0 and "http:// or https://" in res.output


def test_webhook_rejects_empty_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "s"
    secret.write_text("\n  \n")
    res = runner.invoke(app, ["erp", "webhook", "--url", "http://127.0.0.1:1/", "--secret-file", str(secret)])
    assert res.exit_code != 0 and "no secret" in res.output


def test_export_rejects_unknown_format(tmp_path: Path) -> None:
    res = runner.invoke(app, ["erp", "export", "--format", "xml", "--out", str(tmp_path / "x")])
    assert res.exit_code != 0 and "csv or jsonl" in res.output


def test_sql_reports_unreachable_database_in_one_line() -> None:
    res = runner.invoke(app, ["erp", "sql", "--db", "sqlite:////proc/no-such-dir/erp.db"])
    assert res.exit_code == 1 and res.output.count("\n") == 1 and "database:" in res.output
