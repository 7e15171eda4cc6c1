"""The batching path with the real extractor publishes what the generic extract stage publishes."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.config import InferenceSettings, Settings
from pipeline.contracts import DocKind, Envelope, FieldStatus, OcrResult, Producer
from pipeline.extract.registry import resolve
from pipeline.extract.stage import build_stage as build_extract_stage
from pipeline.inference.documents import DocumentScheduler, build_batcher
from pipeline.inference.extractor_model import ExtractorModel, extractor_model
from pipeline.inference.providers import make_session_factory
from pipeline.inference.stage import build_model, document_stage
from pipeline.runtime import LocalRunner
from pipeline.runtime.local import LocalResult
from pipeline.topics import DLQ, EXTRACTED, OCR
from tests.unit.extract.conftest import RECEIPT_LINES, make_ocr

CFG = InferenceSettings(provider="cpu", intra_op_threads=1, warmup=False, max_queue_delay_ms=2)
INVOICE_LINES = [
    "ACME Tools GmbH",
    "Invoice No: INV-2024-0042",
    "Invoice date: 2024-03-01",
    "Due date: 2024-03-31",
    "PO Number: PO-1001",
    "Bill to: Example Buyer Ltd",
    "Description Qty Unit price Amount",
    "Bolts M8 10 2.50 25.00",
    "Subtotal 25.00",
    "VAT 19% 4.75",
    "Total EUR 29.75",
    "IBAN DE89 3704 0044 0532 0130 00",
]
PO_CHANGE = {
    "document_type": "po_change",
    "po_number": "PO-1001",
    "change_number": "2",
    "vendor_id": "V1",
    "currency": "EUR",
    "issued": "2024-05-01",
    "lines": [{"line_no": 1, "action": "remove", "sku": "A-1"}],
}


def envelope(ocr: OcrResult, n: int) -> Envelope[OcrResult]:
    return Envelope[OcrResult](
        event_id=f"ocr-{n}",
        event_type=OCR,
        document_id=ocr.blob.sha256,
        correlation_id=f"c{n}",
        producer=Producer(stage="ocr", version="1"),
        payload=ocr,
    )


def documents() -> list[OcrResult]:
    """Receipts of different lengths, an unclassified one, an invoice, an empty document, a PO change
    and a PO change the extractor cannot read (-> DLQ)."""
    docs = [
        make_ocr(RECEIPT_LINES, sha="1" * 64),
        make_ocr(RECEIPT_LINES[:14], sha="2" * 64),
        make_ocr(RECEIPT_LINES[10:] + RECEIPT_LINES, sha="3" * 64),
        make_ocr(RECEIPT_LINES, kind=DocKind.unknown, sha="4" * 64),
        make_ocr(INVOICE_LINES, kind=DocKind.invoice, sha="5" * 64),
        make_ocr([], sha="6" * 64),
        make_ocr([], kind=DocKind.po_change, sha="7" * 64),
        make_ocr([], kind=DocKind.po_change, sha="8" * 64),
    ]
    docs[6].structured = PO_CHANGE
    docs[7].structured = {"document_type": "po_change", "lines": "not a list"}
    return docs


@pytest.fixture(scope="module")
def model() -> ExtractorModel:
    return ExtractorModel.load(resolve(), make_session_factory(CFG))


def run_both(model: ExtractorModel, max_batch: int) -> tuple[LocalResult, LocalResult]:
    """The same events through the generic extract stage and through the batcher's stage."""
    envs = [envelope(d, i) for i, d in enumerate(documents())]
    model.extractor.batch_size = max_batch  # the generic stage's padded runs, same size as the batcher's
    try:
        reference = LocalRunner(build_extract_stage(Settings(), extractor=model.extractor)).run(envs)
    finally:
        model.extractor.batch_size = 16
    batcher = build_batcher(model, CFG, name=f"extractor-{max_batch}", max_batch_size=max_batch)
    try:
        batched = LocalRunner(document_stage(DocumentScheduler(model, batcher))).run(envs)
    finally:
        batcher.close()
    return reference, batched


def by_document(result: LocalResult) -> dict[str, Envelope[Any]]:
    return {e.document_id: e for e in result.on(EXTRACTED)}


def comparable(env: Envelope[Any]) -> dict[str, Any]:
    """An output event without what legitimately differs between two runs (wall-clock timings)."""
    return {
        "event_id": env.event_id,
        "causation_id": env.causation_id,
        "producer": env.producer.model_dump(),
        "payload": env.payload.model_dump(mode="json", exclude={"timings_ms"}),
    }


def dead_letters(result: LocalResult) -> list[tuple[str, str, str]]:
    return sorted(
        (e.event.document_id, e.event.payload.error_kind, e.event.payload.error)
        for e in result.dead_letters
        if e.topic == DLQ
    )


def test_same_events_as_the_extract_stage_one_window_per_run(model: ExtractorModel) -> None:
    """Each window alone in its run on both sides: the computation is identical, so are the events."""
    reference, batched = run_both(model, max_batch=1)
    ref, got = by_document(reference), by_document(batched)
    assert len(ref) == 7 and set(got) == set(ref)
    for doc_id, env in ref.items():
        assert comparable(got[doc_id]) == comparable(env)
    assert dead_letters(batched) == dead_letters(reference)
    assert [d[2] for d in dead_letters(batched)] == ["po_change 'lines' must be a list"]
    po = got["7" * 64].payload
    assert po.model.backend == "structured" and po.fields["po_number"].value == "PO-1001"
    empty = got["6" * 64].payload
    assert all(f.status == FieldStatus.absent for f in empty.fields.values())
    invoice = got["5" * 64].payload
    assert invoice.kind == DocKind.invoice and {"vendor", "invoice_number", "iban"} <= set(invoice.fields)


def test_cross_document_batches_agree_with_the_extract_stage(model: ExtractorModel) -> None:
    """Real batches of windows from many documents give every document exactly the answers it gets
    alone. The shipped model computes in fp32 (weights stored as fp16); a dynamic-int8 export would
    not pass this: it quantizes activations with one range per batch, so its answers move with the
    batch-mates (docs/inference.md)."""
    assert model.extractor.model.card["variant"] == "fp32-fp16w"
    reference, batched = run_both(model, max_batch=8)
    ref, got = by_document(reference), by_document(batched)
    assert set(got) == set(ref) and dead_letters(batched) == dead_letters(reference)
    for doc_id, env in ref.items():
        a, b = env.payload, got[doc_id].payload
        assert b.blob == a.blob and got[doc_id].causation_id == env.causation_id
        assert (a.kind, a.prompt_set, a.model, a.line_items) == (b.kind, b.prompt_set, b.model, b.line_items)
        assert set(a.fields) == set(b.fields)
        for name, fa in a.fields.items():
            fb = b.fields[name]
            assert (fa.value, fa.status, fa.provenance) == (fb.value, fb.status, fb.provenance), name
            assert abs(fa.confidence - fb.confidence) < 1e-4, name


def test_default_document_model_is_the_registry_extractor(tmp_path: Any) -> None:
    settings = Settings(home=tmp_path, inference=CFG)
    built = build_model(settings)
    assert isinstance(built, ExtractorModel)
    assert built.model.ref == resolve().ref


def test_each_session_serves_its_own_runner_thread() -> None:
    """sessions=2: two Extractors with their own ONNX Runtime sessions, created at start, and the
    two runner threads of the batcher never share one."""
    settings = Settings(inference=CFG.model_copy(update={"sessions": 2}))
    two = extractor_model(settings, make_session_factory(settings.inference))
    sessions = {id(ex.__dict__["session"]) for ex in two._pool}  # created eagerly (cached_property)
    assert len(sessions) == 2
    batcher = build_batcher(two, settings.inference, name="extractor-2s", max_batch_size=2)
    try:
        sched = DocumentScheduler(two, batcher)
        docs = [make_ocr(RECEIPT_LINES[: 8 + i], sha=f"{i:064x}") for i in range(6)]
        for d in docs:
            sched.submit(d)
        done = []
        while len(done) < len(docs):
            done += [sched.finish(j) for j in sched.completed(timeout=5.0)]
    finally:
        batcher.close()
    assert sorted(e.blob.sha256 for e in done) == sorted(d.blob.sha256 for d in docs)
    assert next(two._assign) == 2  # both runner threads took a session of their own, round robin
