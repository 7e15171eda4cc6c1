"""`docpipe bench e2e`: documents through the whole pipeline on the real broker, timed per stage.

Workers are started and given time to join their groups before the clock starts, so the figures
are steady-state throughput and latency, not start-up cost (reported separately).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import Settings
from pipeline.local.progress import Timelines, summarize
from pipeline.local.supervisor import Service, Supervisor
from pipeline.stages import PIPELINE_ORDER, available


@dataclass
class E2EPlan:
    files: list[Path]
    refdata: Path | None = None
    workers: dict[str, int] = field(default_factory=dict)  # stage -> processes
    timeout_s: float = 1800.0
    label: str = ""


def isolated_settings(base: Settings, run_id: str | None = None) -> Settings:
    """Same broker, own topic prefix, blob store and database: runs never see each other's data."""
    run_id = run_id or uuid.uuid4().hex[:8]
    home = (base.home / "runs" / run_id).resolve()
    return base.model_copy(update={"topic_prefix": f"{base.topic_prefix}run{run_id}.", "home": home,
                                   "database_url": None, "blob_uri": None})


def child_env(settings: Settings) -> dict[str, str]:
    return dict(os.environ, DOCPIPE_HOME=str(settings.home), DOCPIPE_TOPIC_PREFIX=settings.topic_prefix,
                KAFKA_BOOTSTRAP_SERVERS=settings.bootstrap_servers)


def stage_services(stages: list[str], workers: dict[str, int]) -> list[Service]:
    return [Service(f"{s}-{i}", ("worker", s, "--slot", str(i)), "pipeline.runtime")
            for s in stages for i in range(workers.get(s, 1))]


def prepare(settings: Settings, refdata: Path | None) -> None:
    from pipeline.db import make_engine, migrate
    from pipeline.runtime.admin import create_topics

    settings.home.mkdir(parents=True, exist_ok=True)
    create_topics(settings)
    migrate(settings.db_url)
    if refdata is not None and refdata.is_dir():
        from pipeline.refdata.loader import load_dir

        load_dir(refdata, make_engine(settings.db_url))


def wait_until_joined(sup: Supervisor, names: list[str] | None = None, timeout_s: float = 300.0) -> float:
    """Seconds until the stage workers logged their first partition assignment (models loaded, group joined)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if sup.failed():
            raise RuntimeError(f"worker(s) exited during start-up: {sup.failed()} (logs in {sup.log_dir})")
        logs = [sup.log_dir / f"{name}.log" for name in (names or sup.procs)]
        if all(p.is_file() and "assigned partitions" in p.read_text(errors="replace") for p in logs):
            return time.monotonic() - start
        time.sleep(0.5)
    raise TimeoutError(f"workers did not join within {timeout_s}s (logs in {sup.log_dir})")


def follow(settings: Settings, timelines: Timelines, sup: Supervisor, deadline: float) -> None:
    from pipeline.runtime.reader import follow_topic
    from pipeline.topics import STATUS

    for msg in follow_topic(settings, settings.topic(STATUS), from_beginning=True,
                            stop_after_idle_s=max(1.0, deadline - time.monotonic())):
        timelines.observe(json.loads(msg.value() or b"{}"))
        if timelines.tracker.done or time.monotonic() > deadline or sup.failed():
            return


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
        t0 = time.monotonic()
        results = submit_paths(plan.files, open_blobstore(settings.blob_root), settings, producer(settings))
        submit_s = time.monotonic() - t0
        for r in results:
            if r.document_id:
                timelines.expect(r.document_id)
        follow(settings, timelines, sup, t0 + plan.timeout_s)
        wall = time.monotonic() - t0
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
        **summary,
    }
