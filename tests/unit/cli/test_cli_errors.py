"""Bad input at the command line: one-line reason on stderr, non-zero exit, nothing else lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.kafka_harness import ROOT, free_port


def docpipe(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DOCPIPE_HOME": str(home),
           # nothing listens here: commands that need no broker must not care
           "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}", "DOCPIPE_MAX_DOCUMENT_BYTES": "1000"}
    return subprocess.run([sys.executable, "-m", "pipeline", *args], env=env, capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def test_submit_reports_each_bad_file_and_exits_non_zero(tmp_path: Path) -> None:
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "big.pdf").write_bytes(b"%PDF-" + b"0" * 5000)
    (tmp_path / "notes.txt").write_text("just some text")
    res = docpipe("submit", str(tmp_path / "empty.pdf"), str(tmp_path / "big.pdf"), str(tmp_path / "notes.txt"),
                  str(tmp_path / "missing.pdf"), "--json", home=tmp_path / "home")
    assert res.returncode == 1
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    reasons = {Path(r["path"]).name: r["error"] for r in rows}
    assert reasons["empty.pdf"] == "empty file"
    assert "over the limit" in reasons["big.pdf"]
    assert "unsupported file type" in reasons["notes.txt"]
    assert reasons["missing.pdf"] == "no such file"
    assert "Traceback" not in res.stderr


def test_unknown_kind_and_unknown_stage_are_one_line_errors(tmp_path: Path) -> None:
    res = docpipe("submit", str(tmp_path), "--kind", "spaceship", home=tmp_path)
    assert res.returncode != 0 and res.stderr.strip().splitlines()[-1].startswith("docpipe: error: unknown kind")
    res = docpipe("worker", "no-such-stage", home=tmp_path)
    assert res.returncode != 0 and "unknown stage" in res.stderr and "Traceback" not in res.stderr


def test_status_rejects_malformed_ids(tmp_path: Path) -> None:
    res = docpipe("status", "not-a-hash", home=tmp_path)
    assert res.returncode != 0 and "lowercase hex" in res.stderr


def test_schemas_check_passes_on_the_committed_files(tmp_path: Path) -> None:
    res = docpipe("schemas", "check", home=tmp_path)
    assert res.returncode == 0, res.stderr
