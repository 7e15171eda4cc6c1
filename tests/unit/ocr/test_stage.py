"""The OCR stage driven by the in-memory runner: real blob store, real decode/retry/DLQ rules."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest
from PIL import Image

from pipeline.blobstore import open_blobstore
from pipeline.config import Settings
from pipeline.contracts import BlobRef, DeadLetter, DocKind, DocumentIngested, Envelope, OcrResult, Producer
from pipeline.ingest.media import sniff
from pipeline.ocr import synth
from pipeline.ocr.stage import build_stage
from pipeline.runtime import LocalRunner
from pipeline.topics import DLQ, OCR

PO_CHANGE = {
    "document_type": "po_change",
    "po_number": "PO-1001",
    "change_number": "2",
    "vendor_id": "V1",
    "currency": "EUR",
    "issued": "2026-03-01",
    "lines": [
        {
            "line_no": 1,
            "action": "change",
            "sku": "A1",
            "description": "Paper",
            "quantity": "10",
            "unit_price": "2.50",
            "need_by_date": "2026-04-01",
        }
    ],
}


@pytest.fixture
def settings(tmp_path: Path, fast_settings) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(home=tmp_path, max_pages=4, ocr=fast_settings)


def ingested(
    settings: Settings,
    data: bytes,
    media_type: str | None = None,
    *,
    uri: str | None = None,
    kind: DocKind | None = None,
) -> Envelope[DocumentIngested]:
    put = open_blobstore(settings.blob_root).put(data)
    blob = BlobRef(uri=uri or put.uri, sha256=put.sha256, size=put.size, media_type=media_type or sniff(data))
    return Envelope[DocumentIngested](
        event_id=str(uuid.uuid4()),
        event_type="docs.ingested",
        document_id=put.sha256,
        correlation_id=str(uuid.uuid4()),
        producer=Producer(stage="ingest", version="1"),
        payload=DocumentIngested(blob=blob, filename="x", kind_hint=kind),
    )


def run(settings: Settings, *events: Envelope[DocumentIngested], preload: bool = False):  # type: ignore[no-untyped-def]
    return LocalRunner(build_stage(settings, preload=preload), retries=1).run(list(events))


def test_born_digital_pdf_to_ocr_event(settings: Settings) -> None:
    ev = ingested(settings, synth.invoice_pdf(3, pages=2), kind=DocKind.invoice)
    result = run(settings, ev)
    (out,) = result.on(OCR)
    payload = OcrResult.model_validate(out.payload.model_dump())
    assert out.document_id == ev.document_id and out.causation_id == ev.event_id
    assert payload.kind == DocKind.invoice and payload.engine.name == "pdf_text"
    assert [p.source for p in payload.pages] == ["text_layer", "text_layer"]
    assert "INVOICE" in payload.text() and payload.timings_ms["total_ms"] > 0
    assert not result.dead_letters


def test_po_change_json_passes_through(settings: Settings) -> None:
    ev = ingested(settings, json.dumps(PO_CHANGE).encode())
    (out,) = run(settings, ev).on(OCR)
    assert out.payload.kind == DocKind.po_change and out.payload.pages == []
    assert out.payload.structured == PO_CHANGE


def test_receipt_photo_is_ocred(settings: Settings, sroie: Path) -> None:
    img = Image.open(sroie / "img" / "402.jpg")
    buf = io.BytesIO()
    img.crop((0, 0, img.width, img.height // 3)).save(buf, format="PNG")
    (out,) = run(settings, ingested(settings, buf.getvalue()), preload=True).on(OCR)
    page = out.payload.pages[0]
    assert page.source == "ocr" and len(page.lines) >= 3
    assert [ln.order for ln in page.lines] == list(range(len(page.lines)))
    assert out.payload.engine.name == "ppocr_onnx" and out.payload.engine.execution_provider


def _dead_letter(result) -> DeadLetter:  # type: ignore[no-untyped-def]
    assert not result.on(OCR)
    (dl,) = [e.event for e in result.dead_letters if e.topic == DLQ]
    return DeadLetter.model_validate(dl.payload.model_dump())


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (synth.text_pdf(["confidential"], encrypt="pw"), "encrypted PDF: no password"),
        (synth.invoice_pdf(1)[:700], "corrupt or truncated PDF"),
        (synth.empty_pdf(), "PDF has 0 pages"),
        (synth.invoice_pdf(1, pages=5), "PDF has 5 pages, limit is 4"),
        (b"GIF89a not supported here", "unsupported file type"),
    ],
    ids=["encrypted", "truncated", "zero-pages", "page-limit", "unsupported"],
)
def test_bad_documents_go_to_the_dlq_with_a_reason(settings: Settings, data: bytes, reason: str) -> None:
    dl = _dead_letter(run(settings, ingested(settings, data, media_type="application/pdf")))
    assert dl.error_kind == "handler_error" and dl.error_type == "PermanentError"
    assert reason in dl.error and "\n" not in dl.error and "confidential" not in dl.error
    assert dl.original_b64  # replayable


def test_pixel_bomb_goes_to_the_dlq(settings: Settings) -> None:
    from .test_inputs import png_header_only

    dl = _dead_letter(run(settings, ingested(settings, png_header_only(50_000, 50_000))))
    assert dl.error.startswith("image exceeds pixel limit (2,500,000,000 px")
    dl = _dead_letter(run(settings, ingested(settings, png_header_only(9_000, 9_000))))
    assert dl.error == "image exceeds pixel limit (9000x9000 = 81,000,000 px, limit 60,000,000)"


def test_tampered_blob_and_missing_blob(settings: Settings, tmp_path: Path) -> None:
    ev = ingested(settings, synth.invoice_pdf(2))
    blob_path = Path(ev.payload.blob.uri.removeprefix("file://"))
    blob_path.write_bytes(synth.invoice_pdf(3))  # content no longer matches its address
    dl = _dead_letter(run(settings, ev))
    assert "does not match" in dl.error
    missing = ingested(settings, synth.invoice_pdf(4), uri=(tmp_path / "blobs" / "nope").as_uri())
    dl = _dead_letter(run(settings, missing))
    assert dl.error_kind == "transient_exhausted" and dl.attempts == 2


def test_replay_is_skipped_by_the_ledger(settings: Settings) -> None:
    runner = LocalRunner(build_stage(settings, preload=False))
    ev = ingested(settings, synth.invoice_pdf(5))
    assert len(runner.run([ev]).on(OCR)) == 1
    again = runner.run([ev])
    assert not again.on(OCR) and again.skipped


def test_parallel_documents_keep_order_and_isolate_failures(settings: Settings) -> None:
    parallel = settings.model_copy(update={"ocr": settings.ocr.model_copy(update={"parallel_documents": 2})})
    stage = build_stage(parallel, preload=False)
    assert stage.batch_handler is not None
    events = [ingested(parallel, synth.invoice_pdf(seed)) for seed in (11, 12)]
    events.insert(1, ingested(parallel, synth.empty_pdf()))
    result = LocalRunner(stage).run(events)
    outs = result.on(OCR)
    assert [o.causation_id for o in outs] == [events[0].event_id, events[2].event_id]
    (dl,) = [e.event for e in result.dead_letters if e.topic == DLQ]
    assert dl.causation_id == events[1].event_id and "0 pages" in dl.payload.error
