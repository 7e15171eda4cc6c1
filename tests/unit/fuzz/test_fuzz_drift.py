"""Fuzzing the drift report's input: any JSON record is an observation or skipped, never a crash;
any text is a report or a DriftInputError naming the line.

Found and fixed here: epoch numbers beyond the platform's time_t (OverflowError/OSError) and
extreme ISO dates escaped record parsing.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.ops.drift import DriftInputError, DriftOptions, analyse, parse_record, report_from_stream

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
           | st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat))
values = st.recursive(
    scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
    max_leaves=12)
keys = st.sampled_from(["at", "ts", "time", "created_at", "outcome", "straight_through", "confidence", "kind",
                        "payload", "document", "state", "stage", "fields"])
records = st.dictionaries(keys, values, max_size=6)


@FUZZ
@given(records)
@example({"at": 1e20, "straight_through": True})
@example({"at": -1e300, "confidence": 0.5})
@example({"at": "0001-01-01T00:00:00-05:00", "straight_through": True})
@example({"at": "9999-12-31T23:59:59-14:00", "straight_through": True})
@example({"created_at": 1e19, "payload": {"state": "exception"}})
def test_any_record_parses_or_is_skipped(record: dict) -> None:
    obs = parse_record(record)
    if obs is not None:
        assert obs.at.tzinfo is not None
        assert obs.confidence is None or 0.0 <= obs.confidence <= 1.0
        analyse([obs], DriftOptions())


@FUZZ
@given(st.lists(records, max_size=12), st.sampled_from(["30s", "1h", "1d", "7d"]))
def test_any_stream_of_records_gives_a_report(batch: list[dict], window: str) -> None:
    from pipeline.ops.drift import parse_duration

    text = "\n".join(json.dumps(r) for r in batch)
    report = report_from_stream(io.StringIO(text), DriftOptions(window=parse_duration(window)))
    assert report.records == len(batch)
    json.dumps(report.to_dict())


@FUZZ
@given(st.text(max_size=500))
def test_any_text_is_a_report_or_a_line_error(text: str) -> None:
    try:
        report_from_stream(io.StringIO(text))
    except DriftInputError as exc:
        assert str(exc).startswith("line ")
