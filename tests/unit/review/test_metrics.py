"""Review metrics: reviewer actions counted once committed, HTTP latency by route template, queue gauges."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import Settings
from pipeline.observability import Metrics
from pipeline.observability.worker import serve_process
from pipeline.review import outbox
from pipeline.review.metrics import DbSampler, read_outbox, read_queue, sample_review
from pipeline.review.models import Item
from pipeline.runtime import Emit
from tests.metrics_support import val
from tests.unit.review.conftest import PASSWORD, csrf_of


def _client(app, username: str):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    client = TestClient(app, follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"csrf": token, "username": username, "password": PASSWORD, "next": "/queue"})
    assert r.status_code == 303
    return client


def _version(sessions: sessionmaker[Session], item_id: int) -> str:
    with sessions() as db:
        item = db.get(Item, item_id)
        assert item is not None
        return str(item.version)


def test_actions_and_http_latency_are_counted(settings, engine, actors, make_item, sessions) -> None:  # type: ignore[no-untyped-def]
    from pipeline.review.web.app import create_app

    m = Metrics(CollectorRegistry())
    app = create_app(settings, engine, metrics=m)
    item_id, _ = make_item()
    first, second = _client(app, "reviewer"), _client(app, "reviewer2")
    csrf = csrf_of(first.get(f"/items/{item_id}").text)
    assert first.post(f"/items/{item_id}/claim", data={"csrf": csrf}).status_code == 303
    csrf2 = csrf_of(second.get(f"/items/{item_id}").text)
    assert second.post(f"/items/{item_id}/claim", data={"csrf": csrf2}).status_code == 409  # claimed by first
    r = first.post(
        f"/items/{item_id}/reject",
        data={"csrf": csrf, "version": _version(sessions, item_id), "reason": "not our invoice"},
    )
    assert r.status_code == 303, r.text

    assert val(m, "docpipe_review_actions_total", action="claim", result="ok") == 1
    assert val(m, "docpipe_review_actions_total", action="claim", result="refused") == 1
    assert val(m, "docpipe_review_actions_total", action="reject", result="ok") == 1
    # latency is labelled by the route template, never the item id
    route = "/items/{item_id}/claim"
    assert (
        val(m, "docpipe_http_request_duration_seconds_count", app="review", method="POST", route=route, status="3xx")
        == 1
    )
    assert (
        val(m, "docpipe_http_request_duration_seconds_count", app="review", method="POST", route=route, status="4xx")
        == 1
    )
    first.get("/no/such/page/123")
    assert (
        val(
            m,
            "docpipe_http_request_duration_seconds_count",
            app="review",
            method="GET",
            route="unmatched",
            status="4xx",
        )
        == 1
    )
    names = {s.labels.get("route") for fam in m.registry.collect() for s in fam.samples}
    assert not any(str(item_id) in str(n) for n in names)


def test_queue_and_outbox_gauges(settings, engine, actors, make_item, sessions) -> None:  # type: ignore[no-untyped-def]
    ids = [make_item(("low_confidence",))[0] for _ in range(3)] + [make_item(("vendor_unknown",))[0]]
    _, env = make_item()
    now = datetime.now(UTC)
    with sessions.begin() as db:
        db.execute(
            update(Item)
            .where(Item.id == ids[0])
            .values(
                sla_due_at=now - timedelta(hours=1),
                received_at=now - timedelta(hours=50),
                claimed_by=actors["reviewer"].id,
                claim_expires_at=now + timedelta(minutes=10),
            )
        )
        outbox.add(db, [Emit("docs.status", env)], now=now - timedelta(minutes=3))
    with sessions() as db:
        q, o = read_queue(db, now), read_outbox(db, now)
    assert q.open_by_reason == {"low_confidence": 4, "vendor_unknown": 1}
    assert q.claimed == 1 and q.overdue == 1
    assert abs(q.oldest_age_s - 50 * 3600) < 5
    assert o.pending == 1 and abs(o.oldest_age_s - 180) < 5

    m = Metrics(CollectorRegistry())
    sampler = DbSampler(lambda: sample_review(sessions, m), interval_s=60).start()  # first round at once
    sampler.stop()
    assert val(m, "docpipe_review_open_items", reason="vendor_unknown") == 1
    assert val(m, "docpipe_review_overdue_items") == 1
    assert val(m, "docpipe_outbox_pending") == 1


def test_serve_process_exports_info_over_http(tmp_path) -> None:  # type: ignore[no-untyped-def]
    m = Metrics(CollectorRegistry())
    probes = serve_process("review", "0.1.0", Settings(home=tmp_path, metrics_port=0), metrics=m)
    assert probes.server is not None
    try:
        m.review_open.labels("low_confidence").set(4)
        body = urllib.request.urlopen(f"http://127.0.0.1:{probes.server.port}/metrics", timeout=5).read().decode()
    finally:
        probes.stop()
    assert 'docpipe_worker_info{stage="review",version="0.1.0"} 1.0' in body
    assert 'docpipe_review_open_items{reason="low_confidence"} 4.0' in body
