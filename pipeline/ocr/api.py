"""Read raw bytes outside the stage (CLI, eval, bench): sniff, then text layer / OCR / pass-through."""

from __future__ import annotations

from pipeline.blobstore.base import sha256_hex
from pipeline.config import Settings
from pipeline.contracts import BlobRef, DocKind, OcrResult
from pipeline.ingest.media import PO_CHANGE_JSON, UnsupportedMediaType, sniff
from pipeline.ocr.document import read_document
from pipeline.ocr.errors import EmptyDocument, UnsupportedDocument
from pipeline.ocr.factory import get_engine


def read_bytes(data: bytes, settings: Settings) -> OcrResult:
    if not data:
        raise EmptyDocument("empty file")
    try:
        media_type = sniff(data)
    except UnsupportedMediaType as exc:
        raise UnsupportedDocument(str(exc)) from None
    digest = sha256_hex(data)
    blob = BlobRef(uri=f"sha256:{digest}", sha256=digest, size=len(data), media_type=media_type)
    if media_type == PO_CHANGE_JSON:
        from pipeline.ocr.stage import passthrough_po_change

        return passthrough_po_change(blob, data)
    return read_document(
        blob,
        data,
        settings.ocr,
        max_pages=settings.max_pages,
        engine=lambda: get_engine(settings.ocr),
        kind=DocKind.unknown,
    )
