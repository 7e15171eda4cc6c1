"""MicroBatcher semantics: batch size, delay bound, bucketing, bisection, watermarks, shutdown."""

from __future__ import annotations

import threading
import time
from concurrent.futures import CancelledError
from dataclasses import dataclass

import pytest

from pipeline.inference.batcher import (
    BatcherClosed,
    BatcherFull,
    MicroBatcher,
    _Item,
    select_batch,
)


@dataclass(frozen=True)
class Req:
    value: int
    length: int = 10
    bad: bool = False


class Recorder:
    """A real batch function: doubles each value, records batch composition, can be gated."""

    def __init__(self, gate: threading.Semaphore | None = None) -> None:
        self.batches: list[list[Req]] = []
        self.gate = gate
        self.entered = threading.Event()

    def __call__(self, batch: list[Req]) -> list[int]:
        self.entered.set()
        if self.gate is not None:
            assert self.gate.acquire(timeout=10)
        if any(r.bad for r in batch):
            raise ValueError(f"bad request in batch of {len(batch)}")
        self.batches.append(list(batch))
        return [r.value * 2 for r in batch]


def wait_for(cond, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.005)


def test_batches_never_exceed_max_and_fill_when_queue_is_deep() -> None:
    rec = Recorder()
    with MicroBatcher(rec, max_batch_size=8, max_queue_delay_ms=500) as b:
        futs = b.submit_many([Req(i) for i in range(50)])
        assert [f.result(5) for f in futs] == [i * 2 for i in range(50)]
    sizes = [len(x) for x in rec.batches]
    assert max(sizes) == 8 and sum(sizes) == 50
    assert sizes.count(8) == 6  # 50 = 6 full batches + 2; no waiting out the 500 ms delay per batch


def test_lone_request_waits_at_most_the_queue_delay() -> None:
    rec = Recorder()
    with MicroBatcher(rec, max_batch_size=16, max_queue_delay_ms=60) as b:
        t0 = time.perf_counter()
        assert b.submit(Req(3)).result(5) == 6
        waited = time.perf_counter() - t0
    assert 0.055 <= waited < 0.5  # waited for company, but no longer than the delay (+ scheduling slack)


def test_zero_delay_runs_immediately() -> None:
    rec = Recorder()
    with MicroBatcher(rec, max_batch_size=16, max_queue_delay_ms=0) as b:
        t0 = time.perf_counter()
        b.submit(Req(1)).result(5)
        assert time.perf_counter() - t0 < 0.2


def test_requests_arriving_within_the_delay_share_a_batch() -> None:
    rec = Recorder()
    with MicroBatcher(rec, max_batch_size=16, max_queue_delay_ms=300) as b:
        f1 = b.submit(Req(1))
        time.sleep(0.05)
        f2 = b.submit(Req(2))
        assert (f1.result(5), f2.result(5)) == (2, 4)
    assert [len(x) for x in rec.batches] == [2]


def test_length_bucketing_groups_similar_lengths() -> None:
    gate = threading.Semaphore(0)
    rec = Recorder(gate)
    with MicroBatcher(rec, max_batch_size=4, max_queue_delay_ms=0, bucketing=True) as b:
        first = b.submit(Req(-1, length=50))
        assert rec.entered.wait(5)  # runner busy with the first request; the rest queues up
        futs = b.submit_many([Req(i, length=20 if i % 2 else 300) for i in range(16)])
        for _ in range(5):
            gate.release()
        first.result(5)
        [f.result(5) for f in futs]
    for batch in rec.batches[1:]:
        assert len({r.length for r in batch}) == 1, [r.length for r in batch]


def test_without_bucketing_batches_are_fifo_and_mixed() -> None:
    gate = threading.Semaphore(0)
    rec = Recorder(gate)
    with MicroBatcher(rec, max_batch_size=4, max_queue_delay_ms=0, bucketing=False) as b:
        first = b.submit(Req(-1))
        assert rec.entered.wait(5)
        futs = b.submit_many([Req(i, length=20 if i % 2 else 300) for i in range(8)])
        for _ in range(3):
            gate.release()
        first.result(5)
        [f.result(5) for f in futs]
    assert [[r.value for r in x] for x in rec.batches[1:]] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_select_batch_keeps_oldest_and_picks_nearest_lengths() -> None:
    items = [_Item(None, None, ln, 0.0, i) for i, ln in enumerate([100, 10, 300, 110, 95, 12, 400])]  # type: ignore[arg-type]
    assert select_batch(items, 3, bucketing=True) == [0, 3, 4]
    assert select_batch(items, 3, bucketing=False) == [0, 1, 2]
    assert select_batch(items[:2], 3, bucketing=True) == [0, 1]


def test_padding_cap_splits_a_lone_documents_short_and_long_windows() -> None:
    lengths = [260, 28, 250, 92, 101, 63]  # one document's windows: two full contexts, four focused
    items = [_Item(None, None, ln, 0.0, i) for i, ln in enumerate(lengths)]  # type: ignore[arg-type]
    assert select_batch(items, 8, bucketing=True) == [0, 1, 2, 3, 4, 5]  # no cap: one run padded to 260
    first = select_batch(items, 8, bucketing=True, max_padding=0.2)
    assert first == [0, 2]  # the long pair; adding 101 would make 22 % of the tokens padding
    rest = [items[i] for i in range(len(items)) if i not in first]
    picked = [rest[i].length for i in select_batch(rest, 8, bucketing=True, max_padding=0.2)]
    assert picked == [28]  # the oldest always goes, alone if every neighbour pads it past the cap
    assert [rest[i].length for i in select_batch(rest, 8, bucketing=True, max_padding=0.3)] == [28, 63]
    assert select_batch(items, 8, bucketing=False, max_padding=0.0) == [0, 1, 2, 3, 4, 5]  # FIFO: no cap


def test_token_budget_batches_short_windows_and_runs_long_ones_alone() -> None:
    """CPU cost per sequence falls with batch size only for short windows: a 256-token budget."""
    lengths = [28] * 10 + [92, 95, 260]
    items = [_Item(None, None, ln, 0.0, i) for i, ln in enumerate(lengths)]  # type: ignore[arg-type]
    assert select_batch(items, 16, bucketing=True, max_tokens=256) == list(range(9))  # 9 x 28 = 252
    assert select_batch(items[10:], 16, bucketing=True, max_tokens=256) == [0, 1]  # 2 x 95 = 190
    assert select_batch(items[12:] + items[:3], 16, bucketing=True, max_tokens=256) == [0]  # 260 alone
    assert select_batch(items, 8, bucketing=True, max_tokens=None) == [0, 1, 2, 3, 4, 5, 6, 7]


def test_a_request_that_fills_the_token_budget_does_not_wait_for_mates() -> None:
    rec = Recorder()
    with MicroBatcher(rec, max_batch_size=8, max_queue_delay_ms=60_000, max_batch_tokens=256) as b:
        assert b.submit(Req(1, length=300)).result(10) == 2  # would wait a minute for batch-mates otherwise
        short = b.submit(Req(2, length=20))
        with pytest.raises(TimeoutError):
            short.result(0.2)  # a short one still waits for mates (up to the queue delay)
        futs = b.submit_many([Req(i, length=20) for i in range(3, 10)])  # fills max_batch_size
        assert short.result(10) == 4 and [f.result(10) for f in futs] == [i * 2 for i in range(3, 10)]
    assert [len(x) for x in rec.batches] == [1, 8]


def test_failing_request_is_isolated_by_bisection() -> None:
    gate = threading.Semaphore(0)
    rec = Recorder(gate)
    with MicroBatcher(rec, max_batch_size=16, max_queue_delay_ms=0) as b:
        first = b.submit(Req(-1))
        assert rec.entered.wait(5)
        reqs = [Req(i, bad=(i == 11)) for i in range(16)]
        futs = b.submit_many(reqs)
        for _ in range(100):
            gate.release()
        first.result(5)
        for r, f in zip(reqs, futs, strict=True):
            if r.bad:
                with pytest.raises(ValueError, match="bad request in batch of 1"):
                    f.result(5)
            else:
                assert f.result(5) == r.value * 2
        assert b.stats.failed == 1
        assert b.stats.bisections == 4  # 16 -> 8 -> 4 -> 2 -> 1: one split per level
        assert b.stats.sequences == 16


def test_wrong_result_count_fails_each_request_not_silently() -> None:
    with MicroBatcher(lambda batch: [1], max_batch_size=4, max_queue_delay_ms=50) as b:
        futs = b.submit_many([Req(i) for i in range(3)])
        results = []
        for f in futs:
            try:
                results.append(f.result(5))
            except Exception as exc:
                results.append(type(exc).__name__)
    assert results.count(1) == 3  # after bisection every single request returns its one result


def test_watermarks_have_hysteresis() -> None:
    gate = threading.Semaphore(0)
    rec = Recorder(gate)
    with MicroBatcher(rec, max_batch_size=2, max_queue_delay_ms=0, high_watermark=10, low_watermark=3) as b:
        b.submit(Req(-1))
        assert rec.entered.wait(5)
        wait_for(lambda: b.queued == 0)
        b.submit_many([Req(i) for i in range(9)])
        assert b.queued == 9 and not b.is_saturated()
        b.submit(Req(9))
        assert b.is_saturated()
        # drain one batch of 2 at a time; saturated until the queue is at or below 3
        seen: list[tuple[int, bool]] = []
        for _ in range(4):
            before = b.queued
            gate.release()
            wait_for(lambda before=before: b.queued < before)
            seen.append((b.queued, b.is_saturated()))
        assert seen == [(8, True), (6, True), (4, True), (2, False)]
        for _ in range(10):
            gate.release()


def test_capacity_is_a_hard_limit_but_a_group_larger_than_capacity_is_admitted_alone() -> None:
    gate = threading.Semaphore(0)
    rec = Recorder(gate)
    b = MicroBatcher(
        rec, max_batch_size=1, max_queue_delay_ms=0, high_watermark=2, low_watermark=1, capacity=4
    )
    b.submit(Req(-1))
    assert rec.entered.wait(5)
    wait_for(lambda: b.queued == 0)
    b.submit_many([Req(i) for i in range(6)])  # one big document into an empty queue: accepted
    with pytest.raises(BatcherFull):
        b.submit(Req(99))
    for _ in range(10):
        gate.release()
    b.close()


def test_close_drains_pending_work() -> None:
    rec = Recorder()
    b = MicroBatcher(rec, max_batch_size=4, max_queue_delay_ms=1000)
    futs = b.submit_many([Req(i) for i in range(3)])
    b.close(drain=True, timeout=5)  # does not wait out the 1 s delay
    assert [f.result(0) for f in futs] == [0, 2, 4]
    with pytest.raises(BatcherClosed):
        b.submit(Req(1))
    assert not any(t.is_alive() for t in b._threads)


def test_close_without_drain_fails_queued_requests() -> None:
    gate = threading.Semaphore(0)
    rec = Recorder(gate)
    b = MicroBatcher(rec, max_batch_size=1, max_queue_delay_ms=0)
    running = b.submit(Req(1))
    assert rec.entered.wait(5)
    queued = b.submit_many([Req(i) for i in range(3)])
    closer = threading.Thread(target=b.close, kwargs={"drain": False, "timeout": 5})
    closer.start()
    wait_for(lambda: all(f.done() for f in queued))
    gate.release()
    closer.join(5)
    assert running.result(5) == 2  # the batch already running completes
    for f in queued:
        with pytest.raises(BatcherClosed):
            f.result(0)


def test_cancelled_requests_are_skipped() -> None:
    gate = threading.Semaphore(0)
    rec = Recorder(gate)
    with MicroBatcher(rec, max_batch_size=8, max_queue_delay_ms=0) as b:
        b.submit(Req(-1))
        assert rec.entered.wait(5)
        futs = b.submit_many([Req(i) for i in range(4)])
        assert futs[1].cancel()
        for _ in range(3):
            gate.release()
        with pytest.raises(CancelledError):
            futs[1].result(5)
        assert [futs[i].result(5) for i in (0, 2, 3)] == [0, 4, 6]
    assert all(r.value != 1 for batch in rec.batches for r in batch)


def test_concurrent_runners_share_the_queue() -> None:
    active = 0
    peak = 0
    lock = threading.Lock()

    def slow(batch: list[Req]) -> list[int]:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.05)
        with lock:
            active -= 1
        return [r.value for r in batch]

    with MicroBatcher(slow, max_batch_size=2, max_queue_delay_ms=0, concurrency=2) as b:
        futs = b.submit_many([Req(i) for i in range(8)])
        assert [f.result(5) for f in futs] == list(range(8))
    assert peak == 2
