"""Outbox relay against a real broker: a crash anywhere between DB commit and Kafka publish/mark
still yields the event exactly once in effect (once for read_committed consumers; if the crash came
after the Kafka commit, the republished copy carries the same event id and is deduped downstream)."""

from __future__ import annotations

import json
import time
from collections import Counter
from decimal import Decimal

import pytest
from confluent_kafka import KafkaException
from sqlalchemy import func, select

from pipeline.review import demo, service
from pipeline.review.intake import enqueue
from pipeline.review.models import OutboxEvent
from pipeline.review.relay import FAILPOINT_ENV
from pipeline.review.store import open_store
from pipeline.review.users import add_user
from pipeline.runtime.reader import read_topic
from pipeline.topics import APPROVED, FEEDBACK
from tests.kafka_harness import Pipeline

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _approve_one(env: Pipeline) -> str:
    """Commit one human approval (decision + outbox rows in one transaction); return its event id."""
    settings = env.settings()
    engine, sessions = open_store(settings)
    with sessions.begin() as db:
        actor = service.Actor.of(add_user(db, "ann", "correct horse battery", "reviewer"))
        inv = demo.DemoInvoice()
        envelope = demo.decision_envelope(
            demo.normalized_document(inv, demo.synthetic_blob(9), {}), ["low_confidence"]
        )
        item_id, _ = enqueue(db, envelope, sla_hours=48)
    with sessions.begin() as db:
        version = service.claim(db, item_id, actor, ttl_s=600).version
    with sessions.begin() as db:
        service.approve(db, item_id, actor, version, "", threshold=Decimal("10000"), ttl_s=600)
    with sessions() as db:
        event_id = db.scalar(select(OutboxEvent.event_id).where(OutboxEvent.topic == APPROVED))
    engine.dispose()
    assert event_id
    return event_id


def _published(env: Pipeline, topic: str) -> list[str]:
    settings = env.settings()
    for attempt in range(20):  # fresh topics may briefly answer NOT_LEADER while leadership settles
        try:
            return [
                json.loads(m.value())["event_id"]
                for m in read_topic(settings, settings.topic(topic), timeout_s=30)
            ]
        except KafkaException:
            if attempt == 19:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def _pending(env: Pipeline) -> int:
    engine, sessions = open_store(env.settings())
    with sessions() as db:
        n = db.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.sent_at.is_(None)))
    engine.dispose()
    return int(n or 0)


def _relay(env: Pipeline, monkeypatch: pytest.MonkeyPatch, failpoint: str | None) -> int:
    if failpoint:
        monkeypatch.setenv(FAILPOINT_ENV, failpoint)
    else:
        monkeypatch.delenv(FAILPOINT_ENV, raising=False)
    proc = env.spawn("review", "relay", "--once", log_name=f"relay-{failpoint or 'clean'}")
    return proc.wait(120)


@pytest.mark.parametrize("failpoint", ["before_publish", "before_kafka_commit"])
def test_relay_killed_before_the_kafka_commit_publishes_once_after_restart(
    pipeline_env: Pipeline, monkeypatch: pytest.MonkeyPatch, failpoint: str
) -> None:
    event_id = _approve_one(pipeline_env)
    assert _relay(pipeline_env, monkeypatch, failpoint) == 86  # died abruptly at the failpoint
    assert _published(pipeline_env, APPROVED) == []  # nothing visible to read_committed consumers
    assert _pending(pipeline_env) == 3
    assert _relay(pipeline_env, monkeypatch, None) == 0  # restart: fences the dead instance, publishes
    assert _published(pipeline_env, APPROVED) == [event_id]
    assert len(_published(pipeline_env, FEEDBACK)) == 1
    assert _pending(pipeline_env) == 0
    assert _relay(pipeline_env, monkeypatch, None) == 0  # nothing left: no republish
    assert _published(pipeline_env, APPROVED) == [event_id]


def test_relay_killed_after_the_kafka_commit_republishes_the_same_event_id(
    pipeline_env: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    event_id = _approve_one(pipeline_env)
    assert _relay(pipeline_env, monkeypatch, "after_kafka_commit") == 86
    assert _pending(pipeline_env) == 3  # published but not marked
    assert _relay(pipeline_env, monkeypatch, None) == 0
    ids = _published(pipeline_env, APPROVED)
    assert Counter(ids) == Counter({event_id: 2})  # same id twice: one event after dedupe by event id
    assert _pending(pipeline_env) == 0
