"""Documents in, windows through the batcher, documents out.

A `DocumentModel` is the pluggable per-document work (the extractor implements it):
`prepare(doc) -> windows` (tokenise, split by stride), `infer(windows) -> scores` (one model run over
a padded batch of windows that may come from many documents) and `finish(doc, windows, scores)`.
`DocumentScheduler` fans a document's windows into the shared batcher and hands the document back
once its last window is scored; `finish` then runs on the caller's thread, so the runner threads
only ever run the model.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from prometheus_client import Histogram

from pipeline.config import InferenceSettings
from pipeline.inference.batcher import MicroBatcher, default_length

DocT = TypeVar("DocT")
WinT = TypeVar("WinT")
ScoreT = TypeVar("ScoreT")
OutT = TypeVar("OutT")
DocT_contra = TypeVar("DocT_contra", contravariant=True)

DOC_LATENCY = Histogram(
    "docpipe_extract_document_seconds",
    "Per-document latency: prepare to finish",
    ["batcher"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
WINDOWS_PER_DOC = Histogram(
    "docpipe_extract_windows_per_document",
    "Model sequences per document",
    ["batcher"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1024),
)


class DocumentModel(Protocol[DocT, WinT, ScoreT, OutT]):  # type: ignore[misc]
    def prepare(self, doc: DocT) -> list[WinT]: ...

    def infer(self, windows: list[WinT]) -> Sequence[ScoreT]: ...

    def finish(self, doc: DocT, windows: list[WinT], scores: list[ScoreT]) -> OutT: ...


@dataclass
class DocJob(Generic[DocT, WinT, ScoreT]):
    """One document in flight. `tag` is the caller's handle (e.g. Kafka partition and offset)."""

    doc: DocT
    tag: Any
    windows: list[WinT]
    futures: list[Future[ScoreT]]
    started: float = field(default_factory=time.perf_counter)
    remaining: int = 0
    cancelled: bool = False

    def scores(self) -> list[ScoreT]:
        """All window scores; raises the first window's exception if one failed (after bisection)."""
        return [f.result() for f in self.futures]


class DocumentScheduler(Generic[DocT, WinT, ScoreT, OutT]):
    """Feeds documents' windows to a MicroBatcher and collects finished documents in completion order."""

    def __init__(self, model: DocumentModel[DocT, WinT, ScoreT, OutT], batcher: MicroBatcher[WinT, ScoreT]):
        self.model = model
        self.batcher = batcher
        self._done: queue.SimpleQueue[DocJob[DocT, WinT, ScoreT]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self.in_flight = 0
        self._latency = DOC_LATENCY.labels(batcher.name)
        self._windows = WINDOWS_PER_DOC.labels(batcher.name)

    def submit(self, doc: DocT, tag: Any = None) -> DocJob[DocT, WinT, ScoreT]:
        """prepare() here (caller's thread; its exceptions propagate) and enqueue every window."""
        started = time.perf_counter()
        windows = list(self.model.prepare(doc))
        futures = self.batcher.submit_many(windows) if windows else []
        job: DocJob[DocT, WinT, ScoreT] = DocJob(doc, tag, windows, futures, started, len(futures))
        self._windows.observe(len(windows))
        with self._lock:
            self.in_flight += 1
        if not futures:
            self._done.put(job)
        for fut in futures:
            fut.add_done_callback(lambda _f, j=job: self._window_done(j))  # type: ignore[misc]
        return job

    def _window_done(self, job: DocJob[DocT, WinT, ScoreT]) -> None:
        with self._lock:
            job.remaining -= 1
            last = job.remaining == 0
        if last:
            self._done.put(job)

    def completed(self, timeout: float = 0.0) -> list[DocJob[DocT, WinT, ScoreT]]:
        """Documents whose windows are all scored (or failed), oldest completion first."""
        out: list[DocJob[DocT, WinT, ScoreT]] = []
        try:
            out.append(self._done.get(timeout=timeout) if timeout > 0 else self._done.get_nowait())
            while True:
                out.append(self._done.get_nowait())
        except queue.Empty:
            pass
        with self._lock:
            self.in_flight -= len(out)
        return [j for j in out if not j.cancelled]

    def finish(self, job: DocJob[DocT, WinT, ScoreT]) -> OutT:
        """Run the model's finish on a completed job; raises what a window or finish raised."""
        try:
            return self.model.finish(job.doc, job.windows, job.scores())
        finally:
            self._latency.observe(time.perf_counter() - job.started)

    def cancel(self, job: DocJob[DocT, WinT, ScoreT]) -> None:
        """Drop a document (its partition was revoked): queued windows are skipped, results ignored."""
        job.cancelled = True
        for f in job.futures:
            f.cancel()


def build_batcher(
    model: DocumentModel[Any, WinT, ScoreT, Any],
    cfg: InferenceSettings,
    *,
    name: str = "extract",
    length_of: Callable[[WinT], int] = default_length,
    **overrides: Any,
) -> MicroBatcher[WinT, ScoreT]:
    """A MicroBatcher over `model.infer` configured from settings (keyword overrides win)."""
    params: dict[str, Any] = {
        "max_batch_size": cfg.max_batch_size,
        "max_queue_delay_ms": cfg.max_queue_delay_ms,
        "bucketing": cfg.bucketing,
        "max_padding": cfg.max_padding,
        "max_batch_tokens": cfg.max_batch_tokens,
        "high_watermark": cfg.queue_high_watermark,
        "low_watermark": cfg.queue_low_watermark,
        "concurrency": cfg.sessions,
    }
    params.update(overrides)
    return MicroBatcher(lambda ws: model.infer(ws), length_of=length_of, name=name, **params)
