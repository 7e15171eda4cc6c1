import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app


def test_bench_normalize_runs_and_reports_json() -> None:
    res = CliRunner().invoke(
        app, ["bench", "normalize", "-n", "200", "--rounds", "1", "--vendors", "50", "--json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout.strip().splitlines()[-1])
    assert data["documents"] == 200 and data["docs_per_s"] > 0 and data["unique_inputs"] is True
    assert data["invalid_fields"] > 0  # the generator plants impossible dates


def test_refdata_sample_then_load_then_bad_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.config import get_settings

    monkeypatch.setenv("DOCPIPE_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(app, ["refdata", "sample", str(tmp_path / "csv")]).exit_code == 0
        ok = runner.invoke(app, ["refdata", "load", str(tmp_path / "csv"), "--json"])
        assert ok.exit_code == 0, ok.output
        assert json.loads(ok.stdout.strip())["loaded"]["vendors"] == 6
        with (tmp_path / "csv" / "vendors.csv").open("a") as fh:
            fh.write("V9,Bad,,DE,de_DE,EUR,DE136695977,,true\n")
        bad = runner.invoke(app, ["refdata", "load", str(tmp_path / "csv")])
        assert bad.exit_code == 1 and "vendors.csv:8: tax_id" in bad.output and "nothing loaded" in bad.output
        assert "Traceback" not in bad.output
    finally:
        get_settings.cache_clear()
