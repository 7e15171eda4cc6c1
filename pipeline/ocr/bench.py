"""`docpipe bench ocr`: throughput and latency of the OCR stage's document reader, and its memory.

Times SROIE validation images (OCR path) and synthetic born-digital invoices (text-layer path), then
streams one long PDF page by page and samples RSS to show memory stays flat.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pipeline.config import Settings
from pipeline.ocr import synth
from pipeline.ocr.api import read_bytes
from pipeline.ocr.document import iter_document
from pipeline.ocr.evaluate import parse_ids
from pipeline.ocr.factory import get_engine


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def _stats(page_ms: list[float], cpu_ms: list[float], wall_s: float, pages: int) -> dict[str, float]:
    return {
        "pages": pages,
        "wall_s": wall_s,
        "pages_per_s": pages / wall_s if wall_s else 0.0,
        "ms_p50": pct(page_ms, 0.5),
        "ms_p95": pct(page_ms, 0.95),
        "ms_mean": statistics.fmean(page_ms) if page_ms else 0.0,
        "cpu_ms_p50": pct(cpu_ms, 0.5),
        # load-independent capacity: pages one fully available core reads per second (CPU time based)
        "cpu_pages_per_s_per_core": 1000 / statistics.fmean(cpu_ms) if cpu_ms else 0.0,
        "cpu_ms_mean": statistics.fmean(cpu_ms) if cpu_ms else 0.0,
    }


def _ocr_one(blob: bytes, settings: Settings) -> tuple[float, float, dict[str, float]]:
    """(wall ms, process CPU ms, stage timings) of reading one image; top-level for worker processes
    (each reads one document at a time, so its process CPU time is that document's)."""
    t, c = time.perf_counter(), time.process_time()
    res = read_bytes(blob, settings)
    return (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000, res.timings_ms


def _warm_worker(blob: bytes, settings: Settings) -> None:
    """Process-pool initializer: load the models and run one page before the clock starts."""
    read_bytes(blob, settings)


def _worker_pid() -> int:
    time.sleep(0.2)  # long enough that every idle worker gets one of these
    return os.getpid()


def bench_images(
    settings: Settings, data: Path, limit: int, parallel: int = 1, processes: bool = False
) -> dict[str, Any]:
    """OCR path. parallel > 1 reads that many documents at once: in threads (as the stage's batch
    handler does) or, with processes=True, in worker processes with one engine each (no shared GIL).
    cpu_ms is process CPU time divided evenly over the pages; pages_per_s is the throughput figure."""
    ids = [i for i in parse_ids("400-499") if (data / "img" / f"{i}.jpg").is_file()][:limit]
    blobs = [(data / "img" / f"{i}.jpg").read_bytes() for i in ids]
    stages = {"det_ms": 0.0, "cls_ms": 0.0, "rec_ms": 0.0}
    if not blobs:
        return {}
    t0, c0 = time.perf_counter(), time.process_time()
    cpu_ms: list[float]
    if processes and parallel > 1:
        with ProcessPoolExecutor(
            max_workers=parallel, initializer=_warm_worker, initargs=(blobs[0], settings)
        ) as pool:
            for _ in range(10):  # every worker started (and warmed by the initializer) before timing
                if len({f.result() for f in [pool.submit(_worker_pid) for _ in range(parallel)]}) == parallel:
                    break
            t0 = time.perf_counter()
            done = list(pool.map(_ocr_one, blobs, [settings] * len(blobs)))
        wall = time.perf_counter() - t0
        cpu_ms = [c for _, c, _ in done]  # ORT runs on the calling thread with 1 intra-op thread
    else:
        read_bytes(blobs[0], settings)  # warm-up (first inference allocates)
        t0, c0 = time.perf_counter(), time.process_time()
        if parallel > 1:
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                done = list(pool.map(lambda b: _ocr_one(b, settings), blobs))
        else:
            done = [_ocr_one(b, settings) for b in blobs]
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        cpu_ms = [cpu * 1000 / len(blobs)] * len(blobs)
    page_ms = [ms for ms, _, _ in done]
    for _, _, timings in done:
        for k in stages:
            stages[k] += timings.get(k, 0.0)
    out: dict[str, Any] = _stats(page_ms, cpu_ms, wall, len(blobs))
    out["parallel_documents"] = parallel
    out["parallel_in"] = "processes" if processes and parallel > 1 else "threads"
    out["stage_ms_mean"] = {k: v / len(blobs) for k, v in stages.items()}
    return out


def _read_pdf(args: tuple[bytes, Settings]) -> tuple[int, float, float]:
    """(pages, wall ms, cpu ms) of reading one born-digital PDF; top-level so worker processes can run it."""
    pdf, settings = args
    t, c = time.perf_counter(), time.process_time()
    res = read_bytes(pdf, settings)
    if any(p.source != "text_layer" for p in res.pages):
        raise RuntimeError("born-digital benchmark PDF was not read from its text layer")
    return len(res.pages), (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000


def bench_pdfs(settings: Settings, docs: int, processes: int = 1) -> dict[str, Any]:
    """Text-layer path. It is Python-bound (GIL), so documents in parallel means processes, not threads."""
    pdfs = [(synth.invoice_pdf(seed, pages=3), settings) for seed in range(docs)]
    _read_pdf(pdfs[0])  # warm-up
    t0 = time.perf_counter()
    if processes > 1:
        with ProcessPoolExecutor(max_workers=processes) as pool:
            pool.submit(_read_pdf, pdfs[0]).result()  # start the workers before timing
            t0 = time.perf_counter()
            done = list(pool.map(_read_pdf, pdfs))
    else:
        done = [_read_pdf(p) for p in pdfs]
    wall = time.perf_counter() - t0
    page_ms = [ms / n for n, ms, _ in done for _ in range(n)]
    cpu_ms = [cpu / n for n, _, cpu in done for _ in range(n)]
    out: dict[str, Any] = _stats(page_ms, cpu_ms, wall, sum(n for n, _, _ in done))
    out["processes"] = processes
    return out


def bench_long_pdf(settings: Settings, pages: int) -> dict[str, Any]:
    pdf = synth.long_pdf(pages)
    samples: dict[str, float] = {"before_mb": rss_mb()}
    t0 = time.perf_counter()
    n = 0
    for outcome in iter_document(
        pdf, "application/pdf", settings.ocr, max_pages=pages, engine=lambda: get_engine(settings.ocr)
    ):
        n += 1
        if n in (10, pages // 10, pages // 2, pages):
            samples[f"after_{n}_pages_mb"] = rss_mb()
        del outcome
    wall = time.perf_counter() - t0
    return {
        "pages": n,
        "pdf_mb": len(pdf) / 1e6,
        "wall_s": wall,
        "pages_per_s": n / wall if wall else 0.0,
        "rss": samples,
        "rss_growth_after_10_pages_mb": rss_mb() - samples.get("after_10_pages_mb", rss_mb()),
    }


def run_bench(
    settings: Settings,
    *,
    data: Path,
    limit: int,
    pdf_docs: int,
    long_pages: int,
    parallel: int = 1,
    processes: bool = False,
    pdf_processes: int = 1,
) -> dict[str, Any]:
    engine = get_engine(settings.ocr)
    result: dict[str, Any] = {
        "mode": settings.ocr.mode,
        "engine": engine.info().model_dump(),
        "threads": engine.threads(),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "loadavg_start": list(os.getloadavg()),
        },
        "rss_after_model_load_mb": rss_mb(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    result["images"] = bench_images(settings, data, limit, parallel, processes) if limit > 0 else {}
    result["born_digital_pdf"] = bench_pdfs(settings, pdf_docs, pdf_processes) if pdf_docs > 0 else {}
    result["long_pdf"] = bench_long_pdf(settings, long_pages) if long_pages > 0 else {}
    result["machine"]["loadavg_end"] = list(os.getloadavg())
    result["peak_rss_mb"] = peak_rss_mb()
    return result
