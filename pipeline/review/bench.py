"""`docpipe bench review`: queue page latency with N open exceptions (SQLite or PostgreSQL).

Seeds N open items (realistic spread of reasons, vendors, amounts, ages), signs in through the real
login, then requests the real /queue page in-process (FastAPI TestClient: routing, guard, queries,
template rendering; no network) for a fixed mix of filters, sorts and deep keyset pages.
"""

from __future__ import annotations

import os
import platform
import random
import re
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

from pipeline.config import Settings
from pipeline.db import migrate, session_factory
from pipeline.review import counts, demo
from pipeline.review.models import Item, ItemPayload, State
from pipeline.review.users import add_user
from pipeline.review.web.app import create_app

REASONS = (
    ["low_confidence"] * 8
    + ["po_unmatched"] * 5
    + ["vendor_unknown"] * 3
    + ["amount_over_limit"] * 2
    + ["iban_changed", "duplicate_suspect"]
)
SCENARIOS: dict[str, str] = {
    "default (SLA asc)": "/queue",
    "sort amount desc": "/queue?sort=amount&dir=desc",
    "sort vendor": "/queue?sort=vendor",
    "oldest first": "/queue?sort=received",
    "reason filter": "/queue?reason=vendor_unknown&sort=amount&dir=desc",
    "vendor prefix": "/queue?vendor=acme",
    "amount range": "/queue?amount_min=1000&amount_max=5000&sort=amount",
    "overdue": "/queue?sla=overdue",
    "older than 72h": "/queue?min_age_h=72&sort=received&dir=desc",
}
PASSWORD = "bench-password-123"


def _flush(conn: Any, rows: list[dict[str, Any]], env_json: str) -> None:
    conn.execute(insert(Item), rows)
    conn.execute(insert(ItemPayload), [{"item_id": r["id"], "decision_envelope": env_json} for r in rows])


def seed(engine: Engine, n: int, rng: random.Random) -> None:
    inv = demo.DemoInvoice()
    doc = demo.normalized_document(inv, demo.synthetic_blob(0), {})
    env_json = demo.decision_envelope(doc, ["low_confidence"]).model_dump_json()
    vendors = [
        f"{w} {s}"
        for w in (
            "Acme",
            "Globex",
            "Initech",
            "Umbrella",
            "Stark",
            "Wayne",
            "Hooli",
            "Vandelay",
            "Soylent",
            "Tyrell",
            "Cyberdyne",
            "Wonka",
            "Gringotts",
            "Oscorp",
            "Aperture",
        )
        for s in (
            "GmbH",
            "Ltd",
            "Inc",
            "SA",
            "BV",
            "AB",
            "Oy",
            "SRL",
            "KG",
            "LLC",
            "Sdn Bhd",
            "Pty",
            "AG",
            "Corp",
            "PLC",
            "SAS",
            "Co",
            "NV",
            "AS",
            "SpA",
        )
    ]
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for i in range(n):
            vendor = rng.choice(vendors)
            amount = Decimal(rng.lognormvariate(6.5, 1.4)).quantize(Decimal("0.01"))
            received = now - timedelta(hours=rng.uniform(0, 240))
            reason = rng.choice(REASONS)
            rows.append(
                {
                    "document_id": f"{i:064x}",
                    "decision_event_id": f"bench-{i}",
                    "correlation_id": f"bench-{i}",
                    "tenant": "default",
                    "kind": "invoice",
                    "state": State.OPEN if rng.random() > 0.05 else State.AWAITING_SECOND,
                    "is_open": True,
                    "primary_reason": reason,
                    "reason_codes": reason,
                    "vendor_name": vendor,
                    "vendor_key": vendor.casefold(),
                    "amount": amount,
                    "amount_key": amount,
                    "currency": "EUR",
                    "received_at": received,
                    "sla_due_at": received + timedelta(hours=48),
                    "id": i + 1,
                    "version": 1,
                    "document_version": 1,
                    "corrections": "{}",
                    "created_at": received,
                    "updated_at": received,
                }
            )
            if len(rows) == 5000:
                _flush(conn, rows, env_json)
                rows = []
        if rows:
            _flush(conn, rows, env_json)
    with session_factory(engine).begin() as db:
        counts.recount(db)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def run(
    settings: Settings, engine: Engine, *, items: int, rounds: int, seed_value: int = 7
) -> dict[str, Any]:
    migrate(settings.db_url)  # engine already created by the caller (SQLite directory exists)
    rng = random.Random(seed_value)
    t0 = time.perf_counter()
    seed(engine, items, rng)
    seed_s = time.perf_counter() - t0
    with session_factory(engine).begin() as db:
        add_user(db, "bench", PASSWORD, "reviewer")
    client = TestClient(create_app(settings, engine))
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, "login page has no CSRF token"
    resp = client.post(
        "/login", data={"csrf": csrf[1], "username": "bench", "password": PASSWORD, "next": "/queue"}
    )
    if resp.status_code != 200 or "Exception queue" not in resp.text:
        raise RuntimeError(f"bench sign-in failed ({resp.status_code})")
    load_before = os.getloadavg()[0]
    timings: dict[str, list[float]] = {name: [] for name in [*SCENARIOS, "deep pages (keyset)"]}
    cpu: list[float] = []
    for _ in range(rounds):
        for name, url in SCENARIOS.items():
            t, c = time.perf_counter(), time.process_time()
            r = client.get(url)
            timings[name].append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
            if r.status_code != 200:
                raise RuntimeError(f"{url} -> {r.status_code}")
        next_url: str | None = "/queue?sort=amount"
        for _ in range(5):  # follow 'Next page' five times
            assert next_url is not None
            t = time.perf_counter()
            r = client.get(next_url)
            timings["deep pages (keyset)"].append((time.perf_counter() - t) * 1000)
            m = re.search(r'href="(/queue\?[^"]*after=[^"]*)" rel="next"', r.text)
            next_url = m[1].replace("&amp;", "&") if m else None
            if next_url is None:
                break
    every = [v for vs in timings.values() for v in vs]
    p95 = _pct(every, 95)
    return {
        "benchmark": "review.queue_page",
        "backend": engine.dialect.name,
        "open_items": items,
        "requests": len(every),
        "seed_s": round(seed_s, 1),
        "p50_ms": round(statistics.median(every), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(max(every), 1),
        "target_p95_ms": 200,
        "pass": p95 < 200,
        "app_cpu_p50_ms": round(statistics.median(cpu), 1),
        "app_cpu_p95_ms": round(_pct(cpu, 95), 1),
        "load_avg_1m_before_after": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "per_scenario_p95_ms": {k: round(_pct(v, 95), 1) for k, v in timings.items() if v},
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
