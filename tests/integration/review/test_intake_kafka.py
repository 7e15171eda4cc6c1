"""The review-intake stage run by the real Kafka worker: routing by outcome, idempotent queueing on replay."""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka import KafkaException
from sqlalchemy import func, select

from pipeline.contracts import Outcome
from pipeline.review import demo
from pipeline.review.models import Item
from pipeline.review.store import open_store
from pipeline.runtime.clients import producer
from pipeline.runtime.reader import read_topic
from pipeline.topics import APPROVED, DECIDED, REJECTED, STATUS
from tests.kafka_harness import Pipeline

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _decision(i: int, outcome: Outcome, failed: list[str]):  # type: ignore[no-untyped-def]
    doc = demo.normalized_document(demo.DemoInvoice(), demo.synthetic_blob(100 + i), {})
    env = demo.decision_envelope(doc, failed, salt=f"kafka-{i}")
    env.payload.outcome = outcome
    return env


def _read(env: Pipeline, topic: str) -> list[dict]:  # type: ignore[type-arg]
    settings = env.settings()
    for attempt in range(20):
        try:
            return [json.loads(m.value()) for m in read_topic(settings, settings.topic(topic), timeout_s=30)]
        except KafkaException:
            if attempt == 19:
                raise
            time.sleep(0.5)
    return []


def _run_worker(env: Pipeline) -> None:
    proc = env.spawn("worker", "review-intake", "--idle-exit", "4", log_name="review-intake")
    assert proc.wait(180) == 0, env.logs[proc.pid].read_text()[-2000:]


def test_decisions_are_routed_and_exceptions_queued_once(pipeline_env: Pipeline) -> None:
    settings = pipeline_env.settings()
    approved = _decision(1, Outcome.auto_approved, [])
    rejected = _decision(2, Outcome.rejected, ["duplicate_suspect"])
    exception = _decision(3, Outcome.exception, ["po_unmatched"])
    prod = producer(settings)
    for env in (approved, rejected, exception, exception):  # the exception is delivered twice
        prod.produce(settings.topic(DECIDED), key=env.key, value=env.model_dump_json().encode())
    prod.flush(30)
    _run_worker(pipeline_env)
    out = _read(pipeline_env, APPROVED)
    assert [e["document_id"] for e in out] == [approved.document_id]
    assert out[0]["payload"]["straight_through"] and out[0]["payload"]["approvals"][0]["by"] == "system"
    assert [e["document_id"] for e in _read(pipeline_env, REJECTED)] == [rejected.document_id]
    states = [
        e["payload"]["state"]
        for e in _read(pipeline_env, STATUS)
        if e["document_id"] == exception.document_id
    ]
    assert "exception" in states
    # a replay after the worker committed (e.g. a reprocessing run) still creates no second item
    prod.produce(settings.topic(DECIDED), key=exception.key, value=exception.model_dump_json().encode())
    prod.flush(30)
    _run_worker(pipeline_env)
    engine, sessions = open_store(settings)
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Item)) == 1
        assert db.scalar(select(Item.document_id)) == exception.document_id
    engine.dispose()
