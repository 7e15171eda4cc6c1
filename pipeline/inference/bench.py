"""Load generator for the extraction batcher: saturation throughput, lone-document latency,
open-loop latency under offered load, memory over a long run, and the CPU cost of one sequence by
length and batch size (which says how much batching can pay at all on this CPU). In process (no
Kafka), the same DocumentScheduler + MicroBatcher the worker uses; finish() runs on the generator
thread as in the worker.
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
from pipeline.contracts import BBox, BlobRef, DocKind, EngineInfo, Line, OcrResult, Page
from pipeline.inference.documents import DocumentModel, DocumentScheduler, build_batcher


@dataclass(frozen=True)
class Config:
    """One batcher configuration under test."""

    name: str
    max_batch_size: int
    bucketing: bool
    max_padding: float = 1.0
    max_batch_tokens: int | None = None


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
            max_padding=conf.max_padding,
            max_batch_tokens=conf.max_batch_tokens,
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
            "mean_seq_len": round(st.tokens / st.sequences, 1) if st.sequences else 0.0,
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
        self,
        conf: Config,
        n_docs: int,
        backlog: int,
        progress: Callable[[int, float], None],
        source: Callable[[int], Any] | None = None,
    ) -> dict[str, Any]:
        """Many documents with a bounded backlog (as the worker's watermarks keep it); RSS over time.
        `source(i)` makes document i (default: the corpus cycled)."""
        doc_at = source or (lambda i: self.docs[i % len(self.docs)])
        sched = self._scheduler(conf)
        rss = [(0, rss_mb())]
        t0 = time.perf_counter()
        submitted = done = 0
        while done < n_docs:
            while submitted < n_docs and submitted - done < backlog:
                sched.submit(doc_at(submitted))
                submitted += 1
            for job in sched.completed(timeout=0.5):
                sched.finish(job)
                done += 1
                if done % max(1, n_docs // 50) == 0:
                    rss.append((done, rss_mb()))
                    if len(rss) % 5 == 1:
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
            # the session arenas reach their working size in the first documents; flat means no growth after
            "rss_mb_after_warmup": rss[min(len(rss) - 1, 5)][1],
            "rss_mb_max": max(mb for _, mb in rss),
            "rss_mb_series": rss,
        }


_SHOPS = ("KEDAI RUNCIT MAJU", "ANEKA STATIONERY", "RESTORAN SELERA KAMPUNG", "HARDWARE & TOOLS", "PASAR MINI")
_STREETS = ("JALAN SETIA INDAH", "JALAN MERDEKA", "LORONG BUNGA RAYA", "TAMAN SRI MUDA")
_CITIES = ("40170 SHAH ALAM", "81100 JOHOR BAHRU", "50450 KUALA LUMPUR", "10200 GEORGETOWN")
_ITEMS = ("JOURNAL BOOK A4", "MINERAL WATER 1.5L", "NASI LEMAK", "TEH TARIK", "SCREW M8 X 40", "PAPER A4 80G")


def synthetic_receipt(i: int, seed: int = 0) -> OcrResult:
    """Receipt `i` of a deterministic synthetic stream: 1-12 item lines, so window lengths vary like
    real receipts' while every document is distinct and none has to be held in memory (long runs)."""
    rng = random.Random(seed * 1_000_003 + i)
    items = [(rng.choice(_ITEMS), rng.randint(1, 5), rng.randint(50, 5000) / 100) for _ in range(rng.randint(1, 12))]
    total = sum(q * p for _, q, p in items)
    paid = float(int(total) + rng.choice((1, 5, 10, 50)))
    texts = [
        f"{rng.choice(_SHOPS)} SDN BHD",
        f"NO. {rng.randint(1, 99)}, {rng.choice(_STREETS)} {rng.randint(1, 20)}",
        rng.choice(_CITIES),
        f"TEL: 03-{rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
        f"DATE: {rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/20{rng.randint(15, 24)}",
        *(f"{name} {qty} X {price:.2f} {qty * price:.2f}" for name, qty, price in items),
        f"TOTAL {total:.2f}",
        f"CASH {paid:.2f}",
        f"CHANGE {paid - total:.2f}",
        "THANK YOU, PLEASE COME AGAIN",
    ]
    lines = [
        Line(text=t, bbox=BBox(x0=10, y0=20 * k, x1=400, y1=20 * k + 16), confidence=1.0, order=k)
        for k, t in enumerate(texts)
    ]
    sha = f"{seed:08x}{i:056x}"
    return OcrResult(
        blob=BlobRef(uri=f"synthetic://{i}", sha256=sha, size=1, media_type="image/png"),
        kind=DocKind.receipt,
        pages=[Page(index=0, width=420, height=20 * len(lines) + 20, dpi=300, source="ocr", lines=lines)],
        engine=EngineInfo(name="synthetic", version="1"),
    )


def sequence_cost(
    session: Any,
    lengths: tuple[int, ...] = (28, 92, 260),
    batches: tuple[int, ...] = (1, 4, 8, 16, 32),
    sequences: int = 64,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """CPU time and wall time per sequence of one session run, by sequence length and batch size.

    No padding (every row has the length), so this is the best case for batching: if CPU time per
    sequence does not fall with the batch size here, batching cannot raise CPU throughput at all.
    """
    rng = np.random.default_rng(seed)
    names = {i.name for i in session.get_inputs()}
    out = []
    for length in lengths:
        for batch in batches:
            feed = {
                "input_ids": rng.integers(1000, 20000, (batch, length), dtype=np.int64),
                "attention_mask": np.ones((batch, length), dtype=np.int64),
                "token_type_ids": np.zeros((batch, length), dtype=np.int64),
            }
            feed = {k: v for k, v in feed.items() if k in names}
            session.run(None, feed)  # shape warm-up
            runs = max(3, sequences // batch)
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(runs):
                session.run(None, feed)
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            out.append(
                {
                    "length": length,
                    "batch": batch,
                    "cpu_ms_per_sequence": round(cpu * 1000 / (runs * batch), 2),
                    "wall_ms_per_sequence": round(wall * 1000 / (runs * batch), 2),
                }
            )
    return out
