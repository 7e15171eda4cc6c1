"""Generator throughput per render mode, in memory (no disk), measured as documents per CPU-second of
this process so the figure means "one core" even on a shared machine."""

from __future__ import annotations

import datetime as dt
import os
import platform
import time
from typing import Any

from pipeline.samples.generate import Request, iter_documents
from pipeline.samples.world import World

BENCH_PLAN: tuple[tuple[str, str, float], ...] = (
    # kind, render, share of --count (rasters are much slower; fewer documents keep the run short)
    ("invoice", "pdf", 1.0),
    ("receipt", "pdf", 1.0),
    ("po-change", "pdf", 0.5),
    ("invoice", "scan", 0.1),
    ("invoice", "tiff", 0.1),
    ("receipt", "photo", 0.1),
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_bench(count: int = 300, seed: int = 1) -> dict[str, Any]:
    results = []
    for kind, render, share in BENCH_PLAN:
        n = max(5, int(count * share))
        world = World(seed)
        started = time.process_time()
        wall = time.perf_counter()
        size = 0
        for doc in iter_documents(Request(kind, n, seed, render), world):
            size += sum(len(b) for b in doc.files.values())
        cpu = time.process_time() - started
        elapsed = time.perf_counter() - wall
        results.append(
            {
                "kind": kind,
                "render": render,
                "documents": n,
                "cpu_seconds": round(cpu, 3),
                "wall_seconds": round(elapsed, 3),
                "docs_per_cpu_second": round(n / cpu, 1) if cpu else None,
                "mean_bytes": int(size / n),
            }
        )
    return {
        "benchmark": "samples",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{_cpu_model()}, {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "single_core": True,
        "results": results,
    }
