"""Stages defined by the tests (the real ones plug into the same runtime unchanged).

`alpha`: docs.ingested -> docs.ocr; `omega`: docs.ocr -> docs.approved (the final topic here).
File names steer failures: 'poison' -> PermanentError (fixed when DOCPIPE_TEST_FIXED=1),
'flaky' -> TransientError on the first attempt of each process.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from pipeline.config import Settings
from pipeline.contracts import (
    ApprovedDocument,
    DocKind,
    DocumentIngested,
    EngineInfo,
    Envelope,
    OcrResult,
    Versions,
)
from pipeline.runtime import Emit, PermanentError, StageSpec, TransientError
from pipeline.topics import APPROVED, INGESTED, OCR

_flaky_seen: set[str] = set()


def _alpha(event: Envelope[Any]) -> Sequence[Emit]:
    payload: DocumentIngested = event.payload
    name = payload.filename or ""
    if "poison" in name and os.environ.get("DOCPIPE_TEST_FIXED") != "1":
        raise PermanentError("test stage refuses documents named poison")
    if "flaky" in name and event.document_id not in _flaky_seen:
        _flaky_seen.add(event.document_id)
        raise TransientError("test dependency briefly unavailable")
    out = OcrResult(blob=payload.blob, kind=DocKind.receipt, engine=EngineInfo(name="test", version="1"))
    return [Emit(OCR, event.follow(OCR, out, ALPHA_PRODUCER))]


def _omega(event: Envelope[Any]) -> Sequence[Emit]:
    ocr: OcrResult = event.payload
    doc = ApprovedDocument(kind=ocr.kind, straight_through=True, source=ocr.blob, versions=Versions())
    return [Emit(APPROVED, event.follow(APPROVED, doc, OMEGA_PRODUCER))]


def build_alpha(settings: Settings | None = None) -> StageSpec:
    return StageSpec("alpha", "1", INGESTED, DocumentIngested, handler=_alpha, output_topics=(OCR,))


def build_omega(settings: Settings | None = None) -> StageSpec:
    return StageSpec("omega", "1", OCR, OcrResult, handler=_omega, output_topics=(APPROVED,))


ALPHA_PRODUCER = build_alpha().producer
OMEGA_PRODUCER = build_omega().producer
