"""Document -> pages: text layer first, OCR for the rest, reading order on every page.

A generator over pages, so callers that stream (the 1,000-page benchmark) hold one page at a time;
`read_document` collects them into the OcrResult the stage emits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pipeline.contracts import BlobRef, DocKind, EngineInfo, OcrResult, Page
from pipeline.ingest.media import IMAGE_TYPES, PDF
from pipeline.ocr.engine import OcrEngine, RecognizedPage
from pipeline.ocr.errors import UnsupportedDocument
from pipeline.ocr.images import ImageLimits, iter_frames
from pipeline.ocr.pdf import PdfTextPage, iter_pdf_pages
from pipeline.ocr.pdf_text import TEXT_LAYER_DPI
from pipeline.ocr.reading_order import assign_reading_order
from pipeline.ocr.settings import OcrSettings

log = logging.getLogger(__name__)

EngineGetter = Callable[[], OcrEngine]


@dataclass
class PageOutcome:
    page: Page
    timings_ms: dict[str, float] = field(default_factory=dict)
    warning: str | None = None


def _from_ocr(index: int, rec: RecognizedPage, dpi: float) -> Page:
    return Page(
        index=index,
        width=float(max(rec.width, 1)),
        height=float(max(rec.height, 1)),
        dpi=dpi,
        source="ocr",
        rotation=rec.rotation,
        lines=assign_reading_order(rec.lines),
    )


def iter_document(
    data: bytes, media_type: str, settings: OcrSettings, *, max_pages: int, engine: EngineGetter
) -> Iterator[PageOutcome]:
    """Yield each page in order. Raises typed DocumentError subclasses for unreadable input."""
    limits = ImageLimits(settings.max_pixels, settings.max_side, settings.min_side, max_pages)
    if media_type == PDF:
        for item in iter_pdf_pages(
            data,
            limits=limits,
            dpi=settings.pdf_dpi,
            use_text_layer=settings.pdf_text_layer,
            ocr_invisible=settings.ocr_invisible_text,
        ):
            t = time.perf_counter()
            if isinstance(item, PdfTextPage):
                layer = item.layer
                page = Page(
                    index=item.index,
                    width=max(layer.width, 1.0),
                    height=max(layer.height, 1.0),
                    dpi=TEXT_LAYER_DPI,
                    source="text_layer",
                    lines=assign_reading_order(layer.lines),
                )
                yield PageOutcome(page, {"text_layer_ms": (time.perf_counter() - t) * 1000})
                continue
            rec = engine().recognize(item.rgb)
            timings = dict(rec.timings_ms, ocr_ms=(time.perf_counter() - t) * 1000)
            yield PageOutcome(
                _from_ocr(item.index, rec, item.dpi), timings, f"page {item.index + 1}: OCR ({item.reason})"
            )
    elif media_type in IMAGE_TYPES:
        for frame in iter_frames(data, limits):
            t = time.perf_counter()
            rec = engine().recognize(frame.rgb)
            timings = dict(rec.timings_ms, ocr_ms=(time.perf_counter() - t) * 1000)
            yield PageOutcome(_from_ocr(frame.index, rec, frame.dpi), timings)
    else:
        raise UnsupportedDocument(f"unsupported media type for OCR: {media_type}")


def combined_engine_info(sources: set[str], ocr_info: EngineInfo | None) -> EngineInfo:
    """Name the engines that actually produced the pages (text layer, OCR backend, or both)."""
    text = EngineInfo(name="pdf_text", version=_pdfium_version(), models={}, execution_provider=None)
    if ocr_info is None:
        return text
    if "text_layer" in sources:
        return ocr_info.model_copy(
            update={"name": f"pdf_text+{ocr_info.name}", "version": f"{text.version}; {ocr_info.version}"}
        )
    return ocr_info


def _pdfium_version() -> str:
    try:
        import pypdfium2

        return f"pypdfium2 {pypdfium2.PYPDFIUM_INFO}; pdfium {pypdfium2.PDFIUM_INFO}"
    except Exception:  # version strings only; never fatal
        return "pypdfium2"


def read_document(
    blob: BlobRef,
    data: bytes,
    settings: OcrSettings,
    *,
    max_pages: int,
    engine: EngineGetter,
    kind: DocKind = DocKind.unknown,
) -> OcrResult:
    t0 = time.perf_counter()
    used: list[OcrEngine] = []

    def tracked() -> OcrEngine:
        if not used:
            used.append(engine())
        return used[0]

    pages: list[Page] = []
    warnings: list[str] = []
    timings: dict[str, float] = {}
    for outcome in iter_document(data, blob.media_type, settings, max_pages=max_pages, engine=tracked):
        pages.append(outcome.page)
        for key, value in outcome.timings_ms.items():
            timings[key] = timings.get(key, 0.0) + value
        if outcome.warning:
            warnings.append(outcome.warning)
    timings["total_ms"] = (time.perf_counter() - t0) * 1000
    info = combined_engine_info({p.source for p in pages}, used[0].info() if used else None)
    log.info(
        "ocr: document %s: %d page(s) (%s), %d line(s), %.0f ms",
        blob.sha256[:12],
        len(pages),
        ",".join(sorted({p.source for p in pages})) or "none",
        sum(len(p.lines) for p in pages),
        timings["total_ms"],
    )
    return OcrResult(blob=blob, kind=kind, pages=pages, engine=info, timings_ms=timings, warnings=warnings)
