"""normalize and gate as real workers on a real broker: extraction events in, decisions out."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.contracts import DocKind, Envelope, Extraction, Producer
from pipeline.db import make_engine, migrate
from pipeline.refdata.loader import load_dir
from pipeline.refdata.sample import write_sample
from pipeline.runtime.clients import producer
from pipeline.runtime.reader import read_topic
from pipeline.runtime.stage import encode_envelope
from pipeline.topics import DECIDED, EXTRACTED
from tests.kafka_harness import Pipeline
from tests.unit.normalize.factories import acme_invoice, extraction

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _event(doc_id: str, payload: Extraction) -> Envelope[Extraction]:
    return Envelope[Extraction](event_id=f"x-{doc_id[:8]}", event_type=EXTRACTED, document_id=doc_id,
                                correlation_id=doc_id, producer=Producer(stage="extract", version="test"),
                                payload=payload, submitted_at=datetime(2026, 11, 23, tzinfo=UTC))


def test_extracted_documents_are_normalized_and_decided(pipeline_env: Pipeline, tmp_path: Path) -> None:
    settings = pipeline_env.settings()
    engine = make_engine(settings.db_url)
    migrate(settings.db_url)
    write_sample(tmp_path / "ref")
    load_dir(tmp_path / "ref", engine)
    events = {
        "1" * 64: acme_invoice(),  # clean, matches PO-1001 (sample GR covers 150 of 200 nuts -> 3-way fails)
        "2" * 64: acme_invoice(iban="GB82 WEST 1234 5698 7654 32"),  # foreign bank account
        "3" * 64: extraction(DocKind.receipt, merchant="Corner Shop", date="03/04/05", total="1,234"),
    }
    prod = producer(settings)
    for doc_id, payload in events.items():
        ev = _event(doc_id, payload)
        prod.produce(settings.topic(EXTRACTED), key=ev.key, value=encode_envelope(ev))
    prod.flush(30)
    pipeline_env.spawn("worker", "normalize", log_name="normalize")
    pipeline_env.spawn("worker", "gate", log_name="gate")
    decisions: dict[str, dict] = {}
    deadline = time.monotonic() + 180
    while len(decisions) < len(events) and time.monotonic() < deadline:
        pipeline_env.check_alive()
        for m in read_topic(settings, settings.topic(DECIDED), timeout_s=10):
            env = json.loads(m.value())
            decisions[env["document_id"]] = env["payload"]
        time.sleep(1)
    assert set(decisions) == set(events)
    failed = {d: {r["rule_id"] for r in p["reasons"] if not r["passed"]} for d, p in decisions.items()}
    assert failed["1" * 64] == {"po.three_way"}
    assert "vendor.bank_account" in failed["2" * 64]
    assert {"fields.valid"} <= failed["3" * 64]
    assert all(p["outcome"] == "exception" for p in decisions.values())
