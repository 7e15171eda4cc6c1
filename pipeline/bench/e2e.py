"""`docpipe bench e2e`: documents through the whole pipeline on the real broker, timed per stage.

Workers are started and given time to join their groups before the clock starts, so the figures
are steady-state throughput and latency, not start-up cost (reported separately).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.bench.cpu import MachineCpu, cpu_report, process_cpu_s
from pipeline.config import Settings
from pipeline.local.progress import Timelines, summarize
from pipeline.local.run import child_env, follow, isolated_settings, prepare, stage_services, wait_until_joined
from pipeline.local.supervisor import Supervisor
from pipeline.stages import PIPELINE_ORDER, available


@dataclass
class E2EPlan:
    files: list[Path]
    refdata: Path | None = None
    workers: dict[str, int] = field(default_factory=dict)  # stage -> processes
    timeout_s: float = 1800.0
    label: str = ""


def run_e2e(base: Settings, plan: E2EPlan) -> dict[str, Any]:
    from pipeline.blobstore import open_blobstore
    from pipeline.ingest.submit import submit_paths
    from pipeline.runtime.clients import producer

    settings = isolated_settings(base)
    prepare(settings, plan.refdata)
    stages = available()
    sup = Supervisor(settings.home / "logs")
    env = child_env(settings)
    for svc in stage_services(stages, plan.workers):
        sup.start(svc, env)
    try:
        startup_s = wait_until_joined(sup)
        timelines = Timelines()
        load_start = os.getloadavg()[0]
        cpu0 = {name: process_cpu_s(p.pid) for name, p in sup.procs.items()}
        m0, own0 = MachineCpu.now(), time.process_time()
        t0 = time.monotonic()
        results = submit_paths(plan.files, open_blobstore(settings.blob_root), settings, producer(settings))
        submit_s = time.monotonic() - t0
        for r in results:
            if r.document_id:
                timelines.expect(r.document_id)
        follow(settings, timelines, sup, t0 + plan.timeout_s)
        wall = time.monotonic() - t0
        cpu = cpu_report(cpu0, {name: process_cpu_s(p.pid) for name, p in sup.procs.items()}, m0,
                         MachineCpu.now(), time.process_time() - own0)
        load_end = os.getloadavg()[0]
    finally:
        sup.stop()
    summary = summarize(timelines, [s for s in PIPELINE_ORDER if s in stages])
    finished = sum(1 for p in timelines.tracker.docs.values() if p.outcome)
    return {
        "label": plan.label,
        "documents": len(timelines.docs),
        "finished": finished,
        "not_submitted": sum(1 for r in results if not r.document_id),
        "wall_s": round(wall, 2),
        "submit_s": round(submit_s, 2),
        "docs_per_s": round(finished / wall, 2) if wall else None,
        "worker_startup_s": round(startup_s, 1),
        "workers": {s: plan.workers.get(s, 1) for s in stages},
        "cores": os.cpu_count(),
        "loadavg_1m": {"start": round(load_start, 2), "end": round(load_end, 2)},
        "cpu": cpu,
        **summary,
    }
