"""Consumer lag arithmetic (the broker-facing part is exercised in tests/integration/ops)."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.observability.lag import OFFSET_INVALID, lag_from_offsets, partition_lag, strip_prefix


@dataclass
class TP:
    topic: str
    partition: int
    offset: int


def test_partition_lag_cases() -> None:
    assert partition_lag(0, 100, 40) == 60
    assert partition_lag(0, 100, 100) == 0
    assert partition_lag(0, 100, 120) == 0  # position past the watermark (stale metadata): never negative
    assert partition_lag(30, 100, OFFSET_INVALID) == 70  # nothing consumed yet: everything retained
    assert partition_lag(50, 100, 10) == 50  # position deleted by retention counts from the log start
    assert partition_lag(-1, -1, 5) == 0  # watermarks unknown


def test_lag_from_offsets_skips_unknown_partitions() -> None:
    marks = {("docs.ocr", 0): (0, 10), ("docs.ocr", 1): (0, 5)}
    lags = lag_from_offsets(marks, [TP("docs.ocr", 0, 4), TP("docs.ocr", 1, OFFSET_INVALID), TP("x", 0, 1)])
    assert lags == {("docs.ocr", 0): 6, ("docs.ocr", 1): 5}


def test_strip_prefix_reports_logical_topics() -> None:
    assert strip_prefix({("t1.docs.ocr", 2): 3}, "t1.") == {("docs.ocr", 2): 3}
    assert strip_prefix({("docs.ocr", 2): 3}, "") == {("docs.ocr", 2): 3}
