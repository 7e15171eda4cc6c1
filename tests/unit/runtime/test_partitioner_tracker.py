from __future__ import annotations

from pipeline.local.tracker import Tracker
from pipeline.runtime.partitioner import murmur2, partition_for


def test_murmur2_matches_kafka_reference_values() -> None:
    # Reference values from Apache Kafka's own partitioner tests (signed 32-bit there).
    cases = {b"21": -973932308, b"foobar": -790332482, b"a-little-bit-long-string": -985981536,
             b"a-little-bit-longer-string": -1486304829, b"abc": 479470107,
             b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971}
    for key, expected in cases.items():
        assert murmur2(key) == expected & 0xFFFFFFFF
    assert 0 <= partition_for(b"ab" * 32, 6) < 6


def _status(doc: str, stage: str, state: str, nxt: str | None = None) -> dict:
    return {"document_id": doc, "payload": {"stage": stage, "state": state, "next_topic": nxt, "detail": ""}}


def test_tracker_reaches_terminal_states() -> None:
    t = Tracker()
    for d in "abcd":
        t.expect(d)
    t.observe(_status("a", "ocr", "done", "docs.ocr"))
    assert not t.done
    t.observe(_status("a", "review-intake", "done", "docs.approved"))
    t.observe(_status("b", "review-intake", "done", None))
    t.observe(_status("c", "ocr", "dead_lettered", "docs.dlq"))
    t.observe(_status("d", "review-intake", "done", "docs.rejected"))
    t.observe(_status("a", "ocr", "skipped_duplicate"))  # a late duplicate does not reopen a document
    t.observe(_status("zzz", "ocr", "done"))  # not ours
    assert t.done
    assert t.counts() == {"approved": 1, "exception": 1, "dead_lettered": 1, "rejected": 1}
