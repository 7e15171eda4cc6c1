"""The batching extraction worker against a real Kafka broker and a real (tiny) ONNX QA model."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition

from pipeline.config import InferenceSettings, Settings
from pipeline.contracts import Envelope, OcrResult, Producer
from pipeline.inference.documents import DocumentScheduler, build_batcher
from pipeline.inference.providers import make_session_factory
from pipeline.inference.qa_model import ReferenceQaModel
from pipeline.inference.sroie import DEFAULT_ROOT, load_receipt
from pipeline.inference.stage import document_stage
from pipeline.inference.worker import BatchingWorker
from pipeline.runtime.clients import consumer, group_id
from pipeline.runtime.clients import producer as make_producer
from pipeline.runtime.reader import read_topic
from pipeline.runtime.stage import encode_envelope
from pipeline.topics import DLQ, EXTRACTED, OCR
from tests.kafka_harness import Pipeline
from tests.unit.inference.conftest import tiny_model_path

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@pytest.fixture(scope="module")
def tiny_model() -> Path:
    return tiny_model_path()


def receipts(n: int) -> list[OcrResult]:
    files = sorted((DEFAULT_ROOT / "box").glob("*.csv"))
    if not files:
        pytest.skip("SROIE data not available")
    return [load_receipt(files[i % len(files)], salt=str(i)) for i in range(n)]


def envelope(ocr: OcrResult) -> Envelope[OcrResult]:
    return Envelope[OcrResult](
        event_id=f"ocr-{ocr.blob.sha256[:16]}",
        event_type=OCR,
        document_id=ocr.blob.sha256,
        correlation_id=ocr.blob.sha256,
        producer=Producer(stage="ocr", version="test"),
        payload=ocr,
    )


def publish(settings: Settings, values: list[tuple[bytes, bytes]]) -> None:
    p = make_producer(settings)
    for key, value in values:
        p.produce(settings.topic(OCR), key=key, value=value)
    assert p.flush(30) == 0


def make_worker(settings: Settings, model_dir: Path, **batcher: object) -> BatchingWorker:
    cfg = settings.inference
    model = ReferenceQaModel(
        model_dir, make_session_factory(cfg), max_seq_len=cfg.max_seq_len, doc_stride=cfg.doc_stride
    )
    scheduler = DocumentScheduler(model, build_batcher(model, cfg, name=f"it-{id(settings)}", **batcher))
    return BatchingWorker(document_stage(scheduler), scheduler, settings)


def run(worker: BatchingWorker, idle_exit_s: float = 8.0) -> None:
    t = threading.Thread(target=worker.run, kwargs={"idle_exit_s": idle_exit_s})
    t.start()
    t.join(180)
    worker.batcher.close()
    assert not t.is_alive(), "worker did not finish"


def committed_total(settings: Settings) -> int:
    c = consumer(settings, group=group_id(settings, "extract"))
    try:
        parts = [TopicPartition(settings.topic(OCR), p) for p in range(settings.partitions)]
        return sum(max(tp.offset, 0) for tp in c.committed(parts, timeout=10))
    finally:
        c.close()


def test_documents_are_batched_extracted_once_and_poison_is_dead_lettered(
    pipeline_env: Pipeline, tiny_model: Path
) -> None:
    settings = pipeline_env.settings(
        inference=InferenceSettings(
            provider="cpu",
            max_batch_size=8,
            max_queue_delay_ms=5,
            max_seq_len=128,
            doc_stride=32,
            queue_high_watermark=24,
            queue_low_watermark=8,
            warmup=False,
        )
    )
    docs = receipts(20)
    good = [(d.blob.sha256.encode(), encode_envelope(envelope(d))) for d in docs]
    poison = [(b"x" * 64, b"\x00not json"), (docs[0].blob.sha256.encode(), b'{"schema_version": "1.0"}')]
    publish(settings, good[:10] + poison + good[10:])

    worker = make_worker(settings, tiny_model)
    run(worker)

    out = [
        Envelope[dict].model_validate_json(m.value()) for m in read_topic(settings, settings.topic(EXTRACTED))
    ]
    per_doc = Counter(e.document_id for e in out)
    assert set(per_doc) == {d.blob.sha256 for d in docs} and set(per_doc.values()) == {1}
    for e in out:
        assert set(e.payload["fields"]) == {
            "merchant",
            "merchant_address",
            "date",
            "total",
            "tax",
            "currency",
        }
        assert e.payload["model"]["name"] == "tiny-bert-qa-test"
    dlq = [Envelope[dict].model_validate_json(m.value()) for m in read_topic(settings, settings.topic(DLQ))]
    assert sorted(e.payload["error_kind"] for e in dlq) == ["schema_invalid", "undecodable"]
    # Windows of many documents shared model runs; backpressure engaged and released.
    assert worker.batcher.stats.mean_batch_size > 2
    assert worker.stats.pauses >= 1
    assert committed_total(settings) == len(good) + len(poison)

    # A second worker of the same group sees nothing new; a replay of the same events is skipped.
    publish(settings, good[:3])
    again = make_worker(settings, tiny_model)
    run(again, idle_exit_s=6.0)
    assert again.stats.skipped == 3 and again.stats.produced == 3  # status events only
    out2 = list(read_topic(settings, settings.topic(EXTRACTED)))
    assert len(out2) == len(docs)


def test_a_document_whose_window_breaks_the_model_goes_to_the_dlq_alone(
    pipeline_env: Pipeline, tiny_model: Path
) -> None:
    settings = pipeline_env.settings(
        inference=InferenceSettings(
            provider="cpu",
            max_batch_size=16,
            max_queue_delay_ms=20,
            max_seq_len=128,
            doc_stride=32,
            warmup=False,
            # no padding cap and no token budget: the oversized window shares a batch, so bisection must
            # isolate it (with either limit it would run alone and fail alone)
            max_padding=1.0,
            max_batch_tokens=None,
        )
    )
    docs = receipts(6)
    # Position embeddings stop at 512: a window of 600 tokens makes onnxruntime fail for that input.
    worker = make_worker(settings, tiny_model)
    model: ReferenceQaModel = worker.scheduler.model  # type: ignore[assignment]
    bad_id = docs[2].blob.sha256
    original = model.prepare

    def prepare(ocr: OcrResult):  # a genuinely oversized window from one document
        windows = original(ocr)
        if ocr.blob.sha256 == bad_id:
            import numpy as np

            w = windows[0]
            w.input_ids = np.concatenate([w.input_ids, np.full(600, 1000, dtype=np.int64)])
        return windows

    model.prepare = prepare  # type: ignore[method-assign]
    publish(settings, [(d.blob.sha256.encode(), encode_envelope(envelope(d))) for d in docs])
    run(worker)
    out = {
        Envelope[dict].model_validate_json(m.value()).document_id
        for m in read_topic(settings, settings.topic(EXTRACTED))
    }
    assert out == {d.blob.sha256 for d in docs} - {bad_id}
    dlq = [Envelope[dict].model_validate_json(m.value()) for m in read_topic(settings, settings.topic(DLQ))]
    assert [e.document_id for e in dlq] == [bad_id]
    assert dlq[0].payload["error_kind"] == "handler_error"
    assert worker.batcher.stats.failed == 1 and worker.batcher.stats.bisections >= 1


def test_the_worker_with_the_shipped_extractor_publishes_what_the_extract_stage_publishes(
    pipeline_env: Pipeline,
) -> None:
    """`docpipe extract-worker`'s default model through Kafka vs the generic extract stage in memory,
    one window per model run on both sides (so int8 batch effects cannot differ): the same events."""
    from pipeline.contracts import DocKind, Extraction
    from pipeline.extract.stage import build_stage as build_extract_stage
    from pipeline.inference.extractor_model import extractor_model
    from pipeline.runtime import LocalRunner
    from tests.unit.extract.conftest import make_ocr

    settings = pipeline_env.settings(
        inference=InferenceSettings(
            provider="cpu", max_batch_size=1, max_queue_delay_ms=2, intra_op_threads=1, warmup=False
        )
    )
    empty = make_ocr([], sha="e" * 64)
    po_change = make_ocr([], kind=DocKind.po_change, sha="f" * 64)
    po_change.structured = {"document_type": "po_change", "po_number": "PO-7", "change_number": "1", "lines": []}
    docs = [*receipts(4), empty, po_change]
    envs = [envelope(d) for d in docs]
    publish(settings, [(e.document_id.encode(), encode_envelope(e)) for e in envs])
    model = extractor_model(settings, make_session_factory(settings.inference))
    scheduler = DocumentScheduler(model, build_batcher(model, settings.inference, name=f"it-ex-{id(settings)}"))
    run(BatchingWorker(document_stage(scheduler), scheduler, settings))

    def comparable(env: Envelope[Extraction]) -> tuple[str, str, dict[str, object]]:
        return env.event_id, env.causation_id or "", env.payload.model_dump(mode="json", exclude={"timings_ms"})

    got = {
        e.document_id: comparable(e)
        for e in (
            Envelope[Extraction].model_validate_json(m.value())
            for m in read_topic(settings, settings.topic(EXTRACTED))
        )
    }
    model.extractor.batch_size = 1
    reference = LocalRunner(build_extract_stage(settings, extractor=model.extractor)).run(envs)
    want = {e.document_id: comparable(e) for e in reference.on(EXTRACTED)}
    assert len(want) == len(docs) and got == want
    assert got["f" * 64][2]["model"]["backend"] == "structured"
