"""Shared pieces of running the pipeline locally: isolation, preparation, start-up, following progress."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

from pipeline.config import Settings
from pipeline.local.progress import Timelines
from pipeline.local.supervisor import Service, Supervisor


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
