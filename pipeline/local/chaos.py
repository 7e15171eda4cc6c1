"""Chaos run: documents through the whole pipeline while workers are killed (SIGKILL) at random,
the broker is restarted once and the database once; then every document must have reached exactly
one terminal state and the ERP sink must hold no duplicates. Loopback only, bounded in time.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import Settings
from pipeline.local.progress import Timelines
from pipeline.local.run import child_env, follow, isolated_settings, prepare, stage_services, wait_until_joined
from pipeline.local.supervisor import Service, Supervisor
from pipeline.stages import available


@dataclass
class ChaosPlan:
    files: list[Path]
    refdata: Path | None = None
    workers: dict[str, int] = field(default_factory=dict)
    kill_every_s: float = 5.0
    max_kills: int = 12
    broker_restart_at_s: float | None = 15.0
    db_restart_at_s: float | None = 25.0
    timeout_s: float = 1200.0
    seed: int = 1
    database_url: str | None = None


@dataclass
class ChaosControls:
    restart_broker: Callable[[], None] | None = None
    restart_database: Callable[[], None] | None = None


@dataclass
class ChaosLog:
    started: float = field(default_factory=time.monotonic)
    events: list[dict[str, Any]] = field(default_factory=list)

    def add(self, action: str, target: str) -> None:
        self.events.append({"t_s": round(time.monotonic() - self.started, 2), "action": action, "target": target})


def _monkey(sup: Supervisor, services: dict[str, Service], env: dict[str, str], plan: ChaosPlan,
            controls: ChaosControls, log: ChaosLog, stop: threading.Event) -> None:
    rng = random.Random(plan.seed)
    kills = 0
    next_kill = plan.kill_every_s
    broker_done = plan.broker_restart_at_s is None or controls.restart_broker is None
    db_done = plan.db_restart_at_s is None or controls.restart_database is None
    while not stop.wait(0.2):
        t = time.monotonic() - log.started
        if kills < plan.max_kills and t >= next_kill:
            name = rng.choice(sorted(services))
            proc = sup.procs[name]
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            log.add("kill -9", name)
            sup.start(services[name], env)
            log.add("restart", name)
            kills += 1
            next_kill = t + plan.kill_every_s * rng.uniform(0.5, 1.5)
        if not broker_done and t >= (plan.broker_restart_at_s or 0):
            log.add("stop", "broker")
            assert controls.restart_broker is not None
            controls.restart_broker()
            log.add("start", "broker")
            broker_done = True
        if not db_done and t >= (plan.db_restart_at_s or 0):
            log.add("stop", "database")
            assert controls.restart_database is not None
            controls.restart_database()
            log.add("start", "database")
            db_done = True


def _count_topic(settings: Settings, logical: str) -> Counter[str]:
    from pipeline.runtime.reader import read_topic

    return Counter(json.loads(m.value() or b"{}").get("document_id") for m in
                   read_topic(settings, settings.topic(logical)))


def _erp_rows(url: str) -> Counter[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT document_id FROM erp_documents")).all()
    engine.dispose()
    return Counter(r[0] for r in rows)


def run_chaos(base: Settings, plan: ChaosPlan, controls: ChaosControls) -> dict[str, Any]:
    from pipeline.blobstore import open_blobstore
    from pipeline.ingest.submit import submit_paths
    from pipeline.runtime.clients import producer
    from pipeline.topics import APPROVED

    settings = isolated_settings(base)
    if plan.database_url:
        settings = settings.model_copy(update={"database_url": plan.database_url})
    prepare(settings, plan.refdata)
    env = child_env(settings)
    if plan.database_url:
        env["DOCPIPE_DATABASE_URL"] = plan.database_url
    sup = Supervisor(settings.home / "logs")
    stage_svcs = stage_services(available(), plan.workers)
    svcs = [*stage_svcs, Service("erp-sql", ("erp", "sql"), "pipeline.erp")]
    services = {s.name: s for s in svcs}
    for svc in svcs:
        sup.start(svc, env)
    log = ChaosLog()
    stop = threading.Event()
    try:
        wait_until_joined(sup, [s.name for s in stage_svcs])
        results = submit_paths(plan.files, open_blobstore(settings.blob_root), settings, producer(settings))
        timelines = Timelines()
        for r in results:
            if r.document_id:
                timelines.expect(r.document_id)
        log = ChaosLog()
        monkey = threading.Thread(target=_monkey, args=(sup, services, env, plan, controls, log, stop), daemon=True)
        monkey.start()
        follow(settings, timelines, sup, time.monotonic() + plan.timeout_s)
        wall_s = time.monotonic() - log.started
        stop.set()
        monkey.join(120)
        approved = _count_topic(settings, APPROVED)
        expected_approved = {d for d, p in timelines.tracker.docs.items() if p.outcome == "approved"}
        erp = _wait_for_erp(settings.db_url, expected_approved, deadline=time.monotonic() + 180)
    finally:
        stop.set()
        sup.stop()
    outcomes = {d: p.outcome for d, p in timelines.tracker.docs.items()}
    return {
        "documents": len(outcomes),
        "wall_s": round(wall_s, 1),  # submit (all) to the last document's terminal state
        "unfinished": sorted(d for d, o in outcomes.items() if o is None),
        "outcomes": timelines.tracker.counts(),
        "approved_events_duplicated": sorted(d for d, c in approved.items() if c > 1),
        "erp_missing": sorted(expected_approved - set(erp)),
        "erp_duplicated": sorted(d for d, c in erp.items() if c > 1),
        "events": log.events,
    }


def _wait_for_erp(url: str, expected: set[str], deadline: float) -> Counter[str]:
    rows: Counter[str] = Counter()
    while time.monotonic() < deadline:
        try:
            rows = _erp_rows(url)
        except Exception:  # table not created yet or database restarting: try again
            rows = Counter()
        if expected <= set(rows):
            return rows
        time.sleep(1.0)
    return rows
