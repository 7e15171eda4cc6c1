"""Dynamic micro-batcher: many small requests (from many documents) -> few padded model runs.

`submit(request) -> Future`. A runner thread takes the oldest request and waits at most
`max_queue_delay_ms` (counted from that request's arrival) for `max_batch_size` requests, then runs
one batch. With length bucketing the batch is the oldest request plus the queued requests whose
lengths are closest to it, so padding to the longest member wastes little (`max_padding` caps the
padded share of a batch's tokens, `max_batch_tokens` its padded size); the oldest request always goes
next, so nothing starves. A request that fills the token budget alone runs at once, without waiting
for batch-mates it could not take. A batch
that raises is bisected and retried until the failing request is alone: its future gets the
exception, its batch-mates their results.

The queue is bounded for the caller by watermarks: `is_saturated()` turns true when `high_watermark`
requests are waiting and false again at `low_watermark` (hysteresis, so a Kafka consumer does not
flap between pause and resume). `capacity` is a hard limit that raises BatcherFull.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from prometheus_client import Counter, Gauge, Histogram

log = logging.getLogger(__name__)

Req = TypeVar("Req")
Resp = TypeVar("Resp")

BATCH_SIZE = Histogram(
    "docpipe_batcher_batch_size",
    "Requests per model run",
    ["batcher"],
    buckets=(1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 128),
)
QUEUE_DELAY = Histogram(
    "docpipe_batcher_queue_delay_seconds",
    "Request wait from submit to batch start",
    ["batcher"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INFER_TIME = Histogram(
    "docpipe_batcher_inference_seconds",
    "Model run time per batch",
    ["batcher"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
PADDING = Histogram(
    "docpipe_batcher_padding_ratio",
    "Share of padded positions per batch",
    ["batcher"],
    buckets=(0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0),
)
SEQUENCES = Counter(
    "docpipe_batcher_sequences_total", "Requests completed (rate() = sequences/s)", ["batcher"]
)
FAILED = Counter("docpipe_batcher_failed_total", "Requests failed after bisection", ["batcher"])
BISECTIONS = Counter("docpipe_batcher_bisections_total", "Failed batches split and retried", ["batcher"])
DEPTH = Gauge("docpipe_batcher_queue_depth", "Requests waiting for a batch", ["batcher"])
SATURATED = Gauge("docpipe_batcher_saturated", "1 while above the high watermark", ["batcher"])


class BatcherClosed(RuntimeError):
    """The batcher is shut down; no new requests are accepted (or, on abort, pending ones were dropped)."""


class BatcherFull(RuntimeError):
    """More requests outstanding than the hard capacity; the caller should have honoured is_saturated()."""


class BatchSizeMismatch(RuntimeError):
    """run_batch returned a different number of results than requests."""


def default_length(request: Any) -> int:
    """Sequence length of a request: `.length`, else len(`.input_ids`), else 1 (no bucketing signal)."""
    length = getattr(request, "length", None)
    if length is not None:
        return int(length)
    ids = getattr(request, "input_ids", None)
    return len(ids) if ids is not None else 1


@dataclass
class _Item(Generic[Req, Resp]):
    request: Req
    future: Future[Resp]
    length: int
    enqueued: float
    seq: int


@dataclass
class BatcherStats:
    """Totals since start, for benchmarks and logs (Prometheus has the same as metrics)."""

    batches: int = 0
    sequences: int = 0
    failed: int = 0
    bisections: int = 0
    infer_seconds: float = 0.0
    tokens: int = 0
    padded_tokens: int = 0

    @property
    def mean_batch_size(self) -> float:
        return self.sequences / self.batches if self.batches else 0.0

    @property
    def padding_ratio(self) -> float:
        return 1 - self.tokens / self.padded_tokens if self.padded_tokens else 0.0


def select_batch(
    pending: Sequence[_Item[Any, Any]],
    max_batch: int,
    bucketing: bool,
    max_padding: float = 1.0,
    max_tokens: int | None = None,
) -> list[int]:
    """Indices (into `pending`, oldest first) of the next batch.

    Without bucketing: the oldest `max_batch`. With bucketing: the oldest, plus the requests nearest
    to it in length (ties broken by age), so the batch pads to a length close to every member's.
    `max_padding` < 1 also leaves out requests that would make more than that share of the batch's
    tokens padding: on a CPU, where a padded token costs as much as a real one, a lone document's
    28- and 260-token windows are cheaper as two runs than as one padded to 260. `max_tokens` caps
    the padded batch (members x longest): on a CPU, CPU time per sequence only falls with batch size
    for short sequences (docs/inference.md), so long ones run alone while short ones share a run.
    """
    n = len(pending)
    if not bucketing:
        return list(range(min(n, max_batch)))
    fits = max_tokens is None or n * max(p.length for p in pending) <= max_tokens
    if n <= max_batch and max_padding >= 1.0 and fits:
        return list(range(n))
    anchor = pending[0].length
    chosen, longest, tokens = [0], anchor, anchor
    for i in sorted(range(1, n), key=lambda i: (abs(pending[i].length - anchor), i)):
        if len(chosen) == max_batch:
            break
        length = pending[i].length
        top = max(longest, length)
        if max_padding < 1.0 and 1 - (tokens + length) / (top * (len(chosen) + 1)) > max_padding:
            continue
        if max_tokens is not None and top * (len(chosen) + 1) > max_tokens:
            continue
        chosen.append(i)
        longest, tokens = top, tokens + length
    return sorted(chosen)


class MicroBatcher(Generic[Req, Resp]):
    """Generic over request/response; `run_batch(list[Req]) -> Sequence[Resp]` does one model run."""

    def __init__(
        self,
        run_batch: Callable[[list[Req]], Sequence[Resp]],
        *,
        max_batch_size: int = 16,
        max_queue_delay_ms: float = 10.0,
        bucketing: bool = True,
        max_padding: float = 1.0,
        max_batch_tokens: int | None = None,
        length_of: Callable[[Req], int] = default_length,
        high_watermark: int = 256,
        low_watermark: int = 64,
        capacity: int | None = None,
        concurrency: int = 1,
        name: str = "extract",
    ) -> None:
        if max_batch_size < 1 or concurrency < 1:
            raise ValueError("max_batch_size and concurrency must be >= 1")
        if not 0 <= low_watermark < high_watermark:
            raise ValueError("need 0 <= low_watermark < high_watermark")
        self._run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.max_queue_delay_s = max_queue_delay_ms / 1000
        self.bucketing = bucketing
        self.max_padding = max_padding
        self.max_batch_tokens = max_batch_tokens
        self._length_of = length_of
        self.high_watermark = high_watermark
        self.low_watermark = low_watermark
        self.capacity = capacity
        self.name = name
        self.stats = BatcherStats()
        self._cond = threading.Condition()
        self._pending: list[_Item[Req, Resp]] = []
        self._inflight = 0
        self._saturated = False
        self._closed = False
        self._seq = itertools.count()
        self._batch_size = BATCH_SIZE.labels(name)
        self._queue_delay = QUEUE_DELAY.labels(name)
        self._infer_time = INFER_TIME.labels(name)
        self._padding = PADDING.labels(name)
        self._sequences = SEQUENCES.labels(name)
        self._failed = FAILED.labels(name)
        self._bisections = BISECTIONS.labels(name)
        self._depth = DEPTH.labels(name)
        self._saturated_gauge = SATURATED.labels(name)
        self._threads = [
            threading.Thread(target=self._loop, name=f"batcher-{name}-{i}", daemon=True)
            for i in range(concurrency)
        ]
        for t in self._threads:
            t.start()

    # ---- producer side -------------------------------------------------------------------------
    def submit(self, request: Req) -> Future[Resp]:
        return self.submit_many([request])[0]

    def submit_many(self, requests: Sequence[Req]) -> list[Future[Resp]]:
        """Enqueue a group (e.g. all windows of one document) atomically; never blocks."""
        now = time.perf_counter()
        items: list[_Item[Req, Resp]] = [_Item(r, Future(), self._length_of(r), now, 0) for r in requests]
        with self._cond:
            if self._closed:
                raise BatcherClosed(f"batcher {self.name} is closed")
            if (
                self.capacity is not None
                and self._pending
                and len(self._pending) + len(items) > self.capacity
            ):
                raise BatcherFull(
                    f"batcher {self.name}: {len(self._pending)} queued, capacity {self.capacity}"
                )
            for it in items:
                it.seq = next(self._seq)
                self._pending.append(it)
            self._update_saturation()
            self._cond.notify_all()
        return [it.future for it in items]

    def is_saturated(self) -> bool:
        with self._cond:
            return self._saturated

    @property
    def queued(self) -> int:
        with self._cond:
            return len(self._pending)

    @property
    def outstanding(self) -> int:
        """Queued plus running requests."""
        with self._cond:
            return len(self._pending) + self._inflight

    def _update_saturation(self) -> None:
        depth = len(self._pending)
        if not self._saturated and depth >= self.high_watermark:
            self._saturated = True
        elif self._saturated and depth <= self.low_watermark:
            self._saturated = False
        self._depth.set(depth)
        self._saturated_gauge.set(1 if self._saturated else 0)

    # ---- shutdown ------------------------------------------------------------------------------
    def close(self, drain: bool = True, timeout: float | None = None) -> None:
        """Stop accepting work. drain=True runs what is queued first; False fails it with BatcherClosed."""
        with self._cond:
            self._closed = True
            if not drain:
                dropped, self._pending = self._pending, []
                for it in dropped:
                    if it.future.set_running_or_notify_cancel():
                        it.future.set_exception(BatcherClosed(f"batcher {self.name} closed before run"))
                self._update_saturation()
            self._cond.notify_all()
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> MicroBatcher[Req, Resp]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- runner side ---------------------------------------------------------------------------
    def _next_batch(self) -> list[_Item[Req, Resp]] | None:
        with self._cond:
            while True:
                if not self._pending:
                    if self._closed:
                        return None
                    self._cond.wait()
                    continue
                wait = self._pending[0].enqueued + self.max_queue_delay_s - time.perf_counter()
                if len(self._pending) < self.max_batch_size and wait > 0 and not self._closed and self._can_grow():
                    self._cond.wait(wait)
                    continue
                picked = select_batch(
                    self._pending, self.max_batch_size, self.bucketing, self.max_padding, self.max_batch_tokens
                )
                chosen = set(picked)
                batch = [self._pending[i] for i in picked]
                self._pending = [it for i, it in enumerate(self._pending) if i not in chosen]
                self._inflight += len(batch)
                self._update_saturation()
                return batch

    def _can_grow(self) -> bool:
        """False when the oldest request fills the token budget alone: waiting could not add a mate."""
        if self.max_batch_tokens is None or not self.bucketing:
            return True
        return 2 * self._pending[0].length <= self.max_batch_tokens

    def _loop(self) -> None:
        while (batch := self._next_batch()) is not None:
            start = time.perf_counter()
            live = [it for it in batch if it.future.set_running_or_notify_cancel()]
            for it in live:
                self._queue_delay.observe(start - it.enqueued)
            try:
                if live:
                    self._execute(live)
            except BaseException:  # never let a runner thread die silently
                log.exception("batcher %s: runner failed", self.name)
                for it in live:
                    if not it.future.done():
                        it.future.set_exception(RuntimeError("batcher runner failed"))
            finally:
                with self._cond:
                    self._inflight -= len(batch)

    def _execute(self, items: list[_Item[Req, Resp]]) -> None:
        t0 = time.perf_counter()
        try:
            results = self._run_batch([it.request for it in items])
            if len(results) != len(items):
                raise BatchSizeMismatch(
                    f"run_batch returned {len(results)} results for {len(items)} requests"
                )
        except Exception as exc:
            if len(items) == 1:
                with self._cond:
                    self.stats.failed += 1
                self._failed.inc()
                log.warning(
                    "batcher %s: request failed alone: %s: %s",
                    self.name,
                    exc.__class__.__name__,
                    str(exc)[:200],
                )
                items[0].future.set_exception(exc)
                return
            with self._cond:
                self.stats.bisections += 1
            self._bisections.inc()
            mid = len(items) // 2
            self._execute(items[:mid])
            self._execute(items[mid:])
            return
        elapsed = time.perf_counter() - t0
        lengths = [it.length for it in items]
        padded = max(lengths) * len(lengths)
        with self._cond:
            self.stats.batches += 1
            self.stats.sequences += len(items)
            self.stats.infer_seconds += elapsed
            self.stats.tokens += sum(lengths)
            self.stats.padded_tokens += padded
        self._batch_size.observe(len(items))
        self._infer_time.observe(elapsed)
        self._padding.observe(1 - sum(lengths) / padded if padded else 0.0)
        self._sequences.inc(len(items))
        for it, res in zip(items, results, strict=True):
            it.future.set_result(res)
