"""The OCR stage: docs.ingested (DocumentIngested) -> docs.ocr (OcrResult).

Reads the bytes through the blob store (claim check), verifies their sha256, sniffs the real type
from magic bytes, then reads text layers / OCRs pages. Structured PO-change JSON passes through.
Every unreadable document becomes a PermanentError with a one-line reason (-> DLQ); a blob that is
not there (yet) is a TransientError (retried, then DLQ).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pipeline.blobstore import BlobNotFound, open_blobstore
from pipeline.blobstore.base import sha256_hex
from pipeline.config import Settings
from pipeline.contracts import DocKind, DocumentIngested, EngineInfo, Envelope, OcrResult
from pipeline.ingest.media import PO_CHANGE_JSON, UnsupportedMediaType, sniff
from pipeline.ocr.document import read_document
from pipeline.ocr.engine import OcrEngine
from pipeline.ocr.errors import CorruptDocument, DocumentError
from pipeline.ocr.factory import get_engine
from pipeline.runtime import Emit, PermanentError, StageSpec, TransientError
from pipeline.topics import INGESTED, OCR

log = logging.getLogger(__name__)

STAGE_NAME = "ocr"
STAGE_VERSION = "1"


def passthrough_po_change(blob: Any, data: bytes) -> OcrResult:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptDocument(f"PO change JSON does not parse ({exc.__class__.__name__})") from None
    if not isinstance(doc, dict):
        raise CorruptDocument("PO change JSON is not an object")
    return OcrResult(
        blob=blob,
        kind=DocKind.po_change,
        structured=doc,
        pages=[],
        engine=EngineInfo(name="passthrough", version=STAGE_VERSION),
    )


def build_stage(settings: Settings, *, preload: bool = True) -> StageSpec:
    """The OCR StageSpec. `preload` loads the models now: a bad config fails at start, not per message."""
    store = open_blobstore(settings.blob_root)
    ocr_settings = settings.ocr
    cache_dir = settings.home / "cache" / "tensorrt"

    def engine() -> OcrEngine:
        return get_engine(ocr_settings, cache_dir)

    if preload:
        engine()

    spec: StageSpec

    def handle(event: Envelope[Any]) -> list[Emit]:
        ingested: DocumentIngested = event.payload
        blob = ingested.blob
        if blob.size > settings.max_document_bytes:
            raise PermanentError(f"document too large ({blob.size:,} bytes, limit {settings.max_document_bytes:,})")
        try:
            data = store.get(blob.uri)
        except BlobNotFound as exc:
            raise TransientError(f"blob not found: {exc}") from None
        except OSError as exc:
            raise TransientError(f"blob store read failed ({exc.__class__.__name__})") from None
        if sha256_hex(data) != blob.sha256:
            raise PermanentError("blob content does not match its sha256")
        try:
            media_type = sniff(data)
        except UnsupportedMediaType as exc:
            raise PermanentError(str(exc)) from None
        if media_type != blob.media_type:
            blob = blob.model_copy(update={"media_type": media_type})
        try:
            if media_type == PO_CHANGE_JSON:
                result = passthrough_po_change(blob, data)
            else:
                result = read_document(
                    blob,
                    data,
                    ocr_settings,
                    max_pages=settings.max_pages,
                    engine=engine,
                    kind=ingested.kind_hint or DocKind.unknown,
                )
        except DocumentError as exc:
            raise PermanentError(str(exc)) from None
        return [Emit(OCR, event.follow(OCR, result, spec.producer))]

    def handle_batch(events: Sequence[Envelope[Any]]) -> list[Sequence[Emit] | Exception]:
        """Documents of one poll in parallel threads (ONNX Runtime releases the GIL while it infers)."""

        def one(event: Envelope[Any]) -> Sequence[Emit] | Exception:
            try:
                return handle(event)
            except Exception as exc:  # classified by the runtime (transient / permanent)
                return exc

        assert pool is not None
        return list(pool.map(one, events))

    parallel = ocr_settings.parallel_documents
    pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="ocr") if parallel > 1 else None
    spec = StageSpec(
        name=STAGE_NAME,
        version=STAGE_VERSION,
        input_topic=INGESTED,
        input_model=DocumentIngested,
        handler=handle if pool is None else None,
        batch_handler=handle_batch if pool is not None else None,
        output_topics=(OCR,),
        description="PDF text layers and PP-OCR on ONNX Runtime: pages of lines with boxes.",
    )
    return spec
