"""Drift report: windows, baseline, flags (with a significance guard), input shapes and CLI."""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.contracts import (
    BlobRef,
    Decision,
    DocKind,
    Envelope,
    NormalizedDocument,
    NormalizedField,
    Outcome,
    PolicyRef,
    Producer,
    StageStatus,
)
from pipeline.ops.drift import (
    DriftInputError,
    DriftOptions,
    Observation,
    analyse,
    parse_duration,
    parse_record,
    render_table,
    report_from_stream,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SHA = "ab" * 32


def synthetic(hours: int, per_hour: int, stp: list[float], conf: list[float],
              seed: int = 7) -> list[Observation]:
    rnd = random.Random(seed)
    out = []
    for h in range(hours):
        for i in range(per_hour):
            at = T0 + timedelta(hours=h, seconds=i * 3600 / per_hour)
            out.append(Observation(at, rnd.random() < stp[h], min(1.0, max(0.0, rnd.gauss(conf[h], 0.05)))))
    return out


def test_stable_stream_is_not_flagged() -> None:
    report = analyse(synthetic(6, 100, [0.8] * 6, [0.9] * 6))
    assert not report.drift
    assert report.baseline is not None and report.baseline.decided == 100
    assert len(report.windows) == 5
    assert all(abs(w.stp_drop or 0) < 0.12 for w in report.windows)


def test_drop_in_straight_through_and_confidence_is_flagged() -> None:
    obs = synthetic(4, 100, [0.8, 0.8, 0.8, 0.5], [0.9, 0.9, 0.9, 0.8])
    report = analyse(obs)
    assert report.drift
    last = report.windows[-1]
    assert last.flags == ["straight_through_drop", "confidence_drop"]
    assert last.stp_drop is not None and last.stp_drop > 0.1 and last.stp_z is not None and last.stp_z > 2
    assert all(not w.flags for w in report.windows[:-1])


def test_small_windows_are_reported_but_never_flagged() -> None:
    obs = synthetic(2, 100, [0.9, 0.9], [0.9, 0.9]) + [
        Observation(T0 + timedelta(hours=2, minutes=m), False, 0.3) for m in range(5)]
    report = analyse(obs, DriftOptions(min_count=20))
    assert report.windows[-1].documents == 5 and report.windows[-1].stp_rate == 0.0
    assert not report.windows[-1].flags


def test_significance_guard_ignores_noise_at_threshold() -> None:
    # a 10-point drop on 25 documents is within chance (z < 1.645): not flagged
    base = [Observation(T0 + timedelta(minutes=i), i % 10 < 8, None) for i in range(30)]
    win = [Observation(T0 + timedelta(hours=1, minutes=i), i % 10 < 7, None) for i in range(25)]
    report = analyse(base + win, DriftOptions(min_count=20))
    assert report.windows[0].stp_drop == pytest.approx(0.8 - 0.72, abs=0.05)
    assert not report.windows[0].flags


def test_multi_window_baseline_and_thresholds() -> None:
    obs = synthetic(5, 80, [0.85, 0.75, 0.8, 0.7, 0.7], [0.9] * 5)
    strict = analyse(obs, DriftOptions(baseline_windows=3, stp_threshold=0.05, min_count=10))
    lax = analyse(obs, DriftOptions(baseline_windows=3, stp_threshold=0.30, min_count=10))
    assert strict.baseline is not None and strict.baseline.decided == 240
    assert len(strict.windows) == 2
    assert lax.drift is False
    assert [w.stp_drop is not None for w in strict.windows] == [True, True]


def test_windows_align_to_the_clock() -> None:
    obs = [Observation(T0 + timedelta(minutes=50), True, None),
           Observation(T0 + timedelta(minutes=70), True, None)]
    report = analyse(obs, DriftOptions(window=timedelta(minutes=30)))
    assert report.baseline is not None and report.baseline.start == T0 + timedelta(minutes=30)
    assert report.windows[0].start == T0 + timedelta(minutes=60)


def _decided(outcome: Outcome, confs: dict[str, float | None], at: datetime) -> str:
    fields = {name: NormalizedField(name=name, raw="x", value=None if c is None else "v", value_type="text",
                                    confidence=c or 0.0) for name, c in confs.items()}
    doc = NormalizedDocument(blob=BlobRef(uri="file:///b", sha256=SHA, size=1, media_type="application/pdf"),
                             kind=DocKind.invoice, fields=fields)
    env = Envelope(event_id="e", event_type="docs.decided", document_id=SHA, correlation_id="c",
                   producer=Producer(stage="gate", version="1"), created_at=at,
                   payload=Decision(outcome=outcome, policy=PolicyRef(name="p", version="1", checksum="x"),
                                    document=doc))
    return env.model_dump_json()


def _status(stage: str, state: str, at: datetime) -> str:
    return Envelope(event_id="s", event_type="docs.status", document_id=SHA, correlation_id="c",
                    producer=Producer(stage=stage, version="1"), created_at=at,
                    payload=StageStatus(stage=stage, state=state)).model_dump_json()  # type: ignore[arg-type]


def test_decided_events_parse_with_present_field_confidences() -> None:
    raw = _decided(Outcome.auto_approved, {"total": 0.9, "date": 0.7, "iban": None}, T0)
    obs = parse_record(json.loads(raw))
    assert obs is not None and obs.straight_through is True
    assert obs.confidence == pytest.approx(0.8)  # the absent field does not count
    assert obs.kind == "invoice" and obs.at == T0
    exc = parse_record(json.loads(_decided(Outcome.exception, {}, T0)))
    assert exc is not None and exc.straight_through is False and exc.confidence is None


def test_status_events_and_flat_records() -> None:
    gate = parse_record(json.loads(_status("gate", "approved", T0)))
    assert gate is not None and gate.straight_through is True
    exception = parse_record(json.loads(_status("review-intake", "exception", T0)))
    assert exception is not None and exception.straight_through is False
    # approved after review: the document was counted when it became an exception
    assert parse_record(json.loads(_status("review", "approved", T0))) is None
    assert parse_record(json.loads(_status("ocr", "done", T0))) is None
    flat = parse_record({"at": "2026-03-02T08:00:00Z", "outcome": "auto_approved", "confidence": 0.93})
    assert flat == Observation(T0, True, 0.93)
    assert parse_record({"ts": T0.timestamp() * 1000, "straight_through": False}).at == T0  # type: ignore[union-attr]
    for junk in ({"at": "yesterday", "outcome": "x"}, {"outcome": "auto_approved"}, [1, 2], "x",
                 {"at": "2026-03-02T08:00:00", "confidence": 7}):
        assert parse_record(junk) is None


def test_stream_counts_skipped_and_rejects_bad_lines() -> None:
    lines = [_decided(Outcome.auto_approved, {"total": 0.9}, T0), "", '{"hello": 1}',
             _status("gate", "approved", T0 + timedelta(hours=1))]
    report = report_from_stream(io.StringIO("\n".join(lines)))
    assert (report.records, report.skipped) == (3, 1)
    with pytest.raises(DriftInputError, match="line 3: not a decided event"):
        report_from_stream(io.StringIO("\n".join(lines)), strict=True)
    with pytest.raises(DriftInputError, match="line 2: not JSON"):
        report_from_stream(io.StringIO(lines[0] + "\n{broken\n"))


def test_parse_duration() -> None:
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration("1d") == timedelta(days=1)
    for bad in ("", "1y", "-1h", "0m", "h"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_render_table_names_the_drop() -> None:
    text = render_table(analyse(synthetic(3, 100, [0.8, 0.8, 0.4], [0.9, 0.9, 0.9])))
    assert "DRIFT: straight_through_drop" in text and "2026-03-02 10:00" in text
    assert render_table(analyse([])) == "no records with a drift signal"


def test_cli_json_and_exit_code(tmp_path: Path) -> None:
    path = tmp_path / "decided.jsonl"
    rows = [{"at": o.at.isoformat(), "straight_through": o.straight_through, "confidence": o.confidence}
            for o in synthetic(3, 60, [0.85, 0.85, 0.4], [0.9, 0.9, 0.9])]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    runner = CliRunner()
    res = runner.invoke(app, ["drift", "--input", str(path), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["drift"] is True and data["records"] == 180
    assert data["windows"][-1]["flags"] == ["straight_through_drop"]
    res = runner.invoke(app, ["drift", "-i", str(path), "--fail-on-drift"])
    assert res.exit_code == 3 and "DRIFT" in res.stdout
    res = runner.invoke(app, ["drift", "-i", str(tmp_path / "missing.jsonl")])
    assert res.exit_code == 1 and "input file not found" in res.output
    res = runner.invoke(app, ["drift", "-i", str(path), "--window", "soon"])
    assert res.exit_code == 1 and "invalid duration" in res.output
