import random

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.erp.ordering import KeyedLanes, OffsetTracker


def test_one_in_flight_per_key_fifo_within_key() -> None:
    lanes: KeyedLanes[str, int] = KeyedLanes()
    for key, item in [("a", 1), ("a", 2), ("b", 10), ("a", 3), ("b", 11)]:
        lanes.put(key, item)
    assert lanes.take() == ("a", 1)
    assert lanes.take() == ("b", 10)
    assert lanes.take() is None  # both keys busy: a2 must wait for a1
    lanes.done("a")
    assert lanes.take() == ("a", 2)
    lanes.done("b")
    assert lanes.take() == ("b", 11)
    lanes.done("a")
    assert lanes.take() == ("a", 3)
    lanes.done("a")
    lanes.done("b")
    assert lanes.take() is None and lanes.queued == 0 and lanes.in_flight == 0


def test_drop_removes_queued_items_only() -> None:
    lanes: KeyedLanes[str, tuple[int, int]] = KeyedLanes()
    lanes.put("a", (0, 1))
    lanes.put("a", (0, 2))
    lanes.put("b", (1, 3))
    assert lanes.take() == ("a", (0, 1))
    assert sorted(lanes.drop(lambda i: i[0] == 0)) == [(0, 2)]
    assert lanes.busy("a") and lanes.queued == 1
    lanes.done("a")
    assert lanes.take() == ("b", (1, 3))


def test_offset_tracker_commits_below_lowest_unfinished() -> None:
    t = OffsetTracker()
    for o in range(10, 15):
        t.add("t", 0, o)
    assert t.position("t", 0) == 10
    for o in (11, 12, 14):
        t.done("t", 0, o)
    assert t.committable() == {("t", 0): 10}
    t.mark_committed({("t", 0): 10})
    assert t.committable() == {}
    t.done("t", 0, 10)
    assert t.committable() == {("t", 0): 13}
    t.done("t", 0, 13)
    assert t.position("t", 0) == 15 and t.in_flight() == 0
    t.forget("t", 0)
    assert t.position("t", 0) is None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=60), st.randoms())
def test_concurrent_schedule_keeps_key_order_and_safe_commits(keys: list[int], rnd: random.Random) -> None:
    """Random worker interleavings: per-key order holds, and the commit point never passes an
    offset that is not finished (so a crash can only re-deliver, never skip)."""
    lanes: KeyedLanes[int, int] = KeyedLanes()
    tracker = OffsetTracker()
    for offset, key in enumerate(keys):
        lanes.put(key, offset)
        tracker.add("t", 0, offset)
    running: list[tuple[int, int]] = []
    finished: set[int] = set()
    order: dict[int, list[int]] = {}
    while len(finished) < len(keys):
        nxt = None if running and rnd.random() < 0.5 else lanes.take()
        if nxt is not None:
            assert all(k != nxt[0] for k, _ in running), "two events of one key in flight"
            running.append(nxt)
        else:
            assert running, "work queued but nothing runnable"
            key, off = running.pop(rnd.randrange(len(running)))
            finished.add(off)
            order.setdefault(key, []).append(off)
            tracker.done("t", 0, off)
            lanes.done(key)
        pos = tracker.position("t", 0)
        assert pos is not None and all(o in finished for o in range(pos))
    for key, offs in order.items():
        assert offs == sorted(offs) == [o for o, k in enumerate(keys) if k == key]
    assert tracker.position("t", 0) == len(keys)
