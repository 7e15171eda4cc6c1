"""Load generator for the extraction batcher: saturation throughput, lone-document latency,
open-loop latency under offered load, memory over a long run. In process (no Kafka), the same
DocumentScheduler + MicroBatcher the worker uses; finish() runs on the generator thread as in the worker.
"""

from __future__ import annotations

import os
import platform
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import psutil

from pipeline.config import InferenceSettings
from pipeline.inference.documents import DocumentModel, DocumentScheduler, build_batcher


@dataclass(frozen=True)
class Config:
    """One batcher configuration under test."""

    name: str
    max_batch_size: int
    bucketing: bool


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def latency_summary(lat_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in lat_s]
    return {
        "p50_ms": round(pct(ms, 50), 1),
        "p95_ms": round(pct(ms, 95), 1),
        "p99_ms": round(pct(ms, 99), 1),
        "mean_ms": round(float(np.mean(ms)), 1) if ms else float("nan"),
    }


def rss_mb() -> float:
    return round(psutil.Process(os.getpid()).memory_info().rss / 2**20, 1)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in open("/proc/cpuinfo"):  # noqa: SIM115
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "loadavg_1m": round(os.getloadavg()[0], 1),
    }


class Runner:
    """Drives one DocumentModel through a fresh batcher per configuration."""

    def __init__(
        self, model: DocumentModel[Any, Any, Any, Any], cfg: InferenceSettings, docs: list[Any], name: str
    ) -> None:
        self.model = model
        self.cfg = cfg
        self.docs = docs
        self.name = name

    def _scheduler(self, conf: Config) -> DocumentScheduler[Any, Any, Any, Any]:
        batcher = build_batcher(
            self.model,
            self.cfg,
            name=f"bench-{self.name}-{conf.name}",
            max_batch_size=conf.max_batch_size,
            bucketing=conf.bucketing,
            high_watermark=10**9,
            low_watermark=0,
        )
        return DocumentScheduler(self.model, batcher)

    def saturation(self, conf: Config, n_docs: int) -> dict[str, Any]:
        """Closed loop with a deep backlog: every document queued at once; the model never idles."""
        sched = self._scheduler(conf)
        docs = [self.docs[i % len(self.docs)] for i in range(n_docs)]
        t0 = time.perf_counter()
        for d in docs:
            sched.submit(d)
        done = 0
        while done < n_docs:
            for job in sched.completed(timeout=0.5):
                sched.finish(job)
                done += 1
        elapsed = time.perf_counter() - t0
        st = sched.batcher.stats
        sched.batcher.close()
        return {
            "config": conf.name,
            "docs": n_docs,
            "seconds": round(elapsed, 2),
            "docs_per_s": round(n_docs / elapsed, 2),
            "sequences_per_s": round(st.sequences / elapsed, 1),
            "mean_batch_size": round(st.mean_batch_size, 2),
            "padding_ratio": round(st.padding_ratio, 3),
            "infer_seconds": round(st.infer_seconds, 2),
        }

    def lone(self, conf: Config, n_docs: int) -> dict[str, Any]:
        """One document at a time (no load): latency, and the document's windows as one direct run."""
        sched = self._scheduler(conf)
        lat, direct = [], []
        for i in range(n_docs):
            doc = self.docs[i % len(self.docs)]
            t0 = time.perf_counter()
            job = sched.submit(doc)
            while not (got := sched.completed(timeout=1.0)):
                pass
            sched.finish(got[0])
            lat.append(time.perf_counter() - t0)
            t1 = time.perf_counter()  # the same document, prepare + one padded inference + finish, no batcher
            wins = self.model.prepare(doc)
            self.model.finish(doc, wins, list(self.model.infer(wins)))
            direct.append(time.perf_counter() - t1)
            del job
        sched.batcher.close()
        return {"config": conf.name, **latency_summary(lat), "direct_one_inference": latency_summary(direct)}

    def offered(self, conf: Config, rate_docs_s: float, n_docs: int, seed: int = 0) -> dict[str, Any]:
        """Open loop: Poisson arrivals at `rate_docs_s`; latency counted from the scheduled arrival."""
        rng = random.Random(seed)
        sched = self._scheduler(conf)
        arrivals, t = [], 0.0
        for _ in range(n_docs):
            t += rng.expovariate(rate_docs_s)
            arrivals.append(t)
        start = time.perf_counter()
        lat: list[float] = []
        nxt = 0
        while len(lat) < n_docs:
            now = time.perf_counter() - start
            while nxt < n_docs and arrivals[nxt] <= now:
                sched.submit(self.docs[nxt % len(self.docs)], tag=arrivals[nxt])
                nxt += 1
            wait = max(0.0, min(0.05, (arrivals[nxt] - now) if nxt < n_docs else 0.05))
            for job in sched.completed(timeout=wait) if wait > 0 else sched.completed():
                sched.finish(job)
                lat.append(time.perf_counter() - start - job.tag)
        elapsed = time.perf_counter() - start
        st = sched.batcher.stats
        sched.batcher.close()
        return {
            "config": conf.name,
            "offered_docs_per_s": round(rate_docs_s, 2),
            "achieved_docs_per_s": round(n_docs / elapsed, 2),
            "docs": n_docs,
            **latency_summary(lat),
            "mean_batch_size": round(st.mean_batch_size, 2),
        }

    def long(
        self, conf: Config, n_docs: int, backlog: int, progress: Callable[[int, float], None]
    ) -> dict[str, Any]:
        """Many documents with a bounded backlog (as the worker's watermarks keep it); RSS over time."""
        sched = self._scheduler(conf)
        rss = [(0, rss_mb())]
        t0 = time.perf_counter()
        submitted = done = 0
        while done < n_docs:
            while submitted < n_docs and submitted - done < backlog:
                sched.submit(self.docs[submitted % len(self.docs)])
                submitted += 1
            for job in sched.completed(timeout=0.5):
                sched.finish(job)
                done += 1
                if done % max(1, n_docs // 10) == 0:
                    rss.append((done, rss_mb()))
                    progress(done, rss[-1][1])
        elapsed = time.perf_counter() - t0
        sched.batcher.close()
        return {
            "config": conf.name,
            "docs": n_docs,
            "seconds": round(elapsed, 1),
            "docs_per_s": round(n_docs / elapsed, 2),
            "rss_mb_start": rss[0][1],
            "rss_mb_end": rss[-1][1],
            "rss_mb_series": rss,
        }
