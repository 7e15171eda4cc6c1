"""Open PDFs safely and walk them page by page: text layer when usable, otherwise a raster to OCR.

One page is open at a time and closed before the next, so a 1,000-page PDF runs in flat memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from pipeline.ocr.errors import CorruptDocument, EmptyDocument, EncryptedDocument, PageLimitExceeded
from pipeline.ocr.images import ImageLimits, check_size
from pipeline.ocr.pdf_text import TextLayer, read_text_layer
from pipeline.ocr.pdfium_lock import PDFIUM_LOCK

_EMPTY_TREE = re.compile(rb"/Count\s+0\b")
_PAGE_OBJ = re.compile(rb"/Type\s*/Page\b")


@dataclass
class PdfTextPage:
    index: int
    layer: TextLayer


@dataclass
class PdfRasterPage:
    index: int
    rgb: np.ndarray
    dpi: float
    reason: str  # why the page was rendered instead of read from its text layer


def open_pdf(data: bytes, password: str | None = None) -> pdfium.PdfDocument:
    """Open a PDF or raise a typed error: encrypted, corrupt/truncated, or zero pages."""
    with PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data, password=password)
        except pdfium.PdfiumError as exc:
            raise classify_open_error(getattr(exc, "err_code", None), data, password) from None
        if len(pdf) == 0:
            pdf.close()
            raise EmptyDocument("PDF has 0 pages")
        return pdf


def classify_open_error(code: int | None, data: bytes, password: str | None) -> Exception:
    """Map a failed open to a typed error. Pure.

    pdfium keeps its previous error code when a load fails without setting one (an empty page tree),
    so the code alone is not trusted: an empty page tree is recognised from the bytes, and a password
    error only counts when the file has an /Encrypt entry.
    """
    if _EMPTY_TREE.search(data) and not _PAGE_OBJ.search(data):
        return EmptyDocument("PDF has 0 pages")
    if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY) and b"/Encrypt" in data:
        if code == pdfium_c.FPDF_ERR_SECURITY:
            return EncryptedDocument("encrypted PDF: unsupported security handler")
        return EncryptedDocument("encrypted PDF: no password" if password is None else "encrypted PDF: wrong password")
    return CorruptDocument("corrupt or truncated PDF (cannot be parsed)")


def render_scale(width_pt: float, height_pt: float, dpi: float, limits: ImageLimits) -> tuple[float, str]:
    """Scale for rendering at `dpi`, reduced when the raster would exceed the pixel limit. Pure."""
    scale = dpi / 72.0
    pixels = width_pt * height_pt * scale * scale
    if pixels > limits.max_pixels:
        scale = (limits.max_pixels / (width_pt * height_pt)) ** 0.5 * 0.999
        return scale, f"rendered at {scale * 72:.0f} dpi instead of {dpi:.0f} (pixel limit)"
    if max(width_pt, height_pt) * scale > limits.max_side:
        scale = limits.max_side / max(width_pt, height_pt) * 0.999
        return scale, f"rendered at {scale * 72:.0f} dpi instead of {dpi:.0f} (side limit)"
    return scale, ""


def iter_pdf_pages(
    data: bytes, *, limits: ImageLimits, dpi: float, use_text_layer: bool = True, ocr_invisible: bool = True
) -> Iterator[PdfTextPage | PdfRasterPage]:
    """Each page is read under the PDFium lock and yielded outside it (callers OCR between pages)."""
    pdf = open_pdf(data)
    try:
        with PDFIUM_LOCK:
            n = len(pdf)
        if n > limits.max_frames:
            raise PageLimitExceeded(f"PDF has {n} pages, limit is {limits.max_frames}")
        for index in range(n):
            with PDFIUM_LOCK:
                item = _read_page(
                    pdf, index, n, limits=limits, dpi=dpi, use_text_layer=use_text_layer, ocr_invisible=ocr_invisible
                )
            yield item
    finally:
        with PDFIUM_LOCK:
            pdf.close()


def _read_page(
    pdf: pdfium.PdfDocument,
    index: int,
    n: int,
    *,
    limits: ImageLimits,
    dpi: float,
    use_text_layer: bool,
    ocr_invisible: bool,
) -> PdfTextPage | PdfRasterPage:
    """Text layer when usable, otherwise a raster; the page is closed before returning. Caller holds the lock."""
    try:
        page = pdf[index]
    except pdfium.PdfiumError:
        raise CorruptDocument(f"PDF page {index + 1} of {n} cannot be loaded (corrupt)") from None
    try:
        reason = "text layer disabled"
        if use_text_layer:
            layer = read_text_layer(page, ocr_invisible=ocr_invisible)
            if layer.usable:
                return PdfTextPage(index, layer)
            reason = layer.reason
        width, height = page.get_size()
        if width <= 0 or height <= 0:
            raise CorruptDocument(f"PDF page {index + 1} has an empty page box")
        scale, note = render_scale(width, height, dpi, limits)
        check_size(max(1, round(width * scale)), max(1, round(height * scale)), limits, what=f"PDF page {index + 1}")
        bitmap = page.render(scale=scale, may_draw_forms=True)
        try:
            rgb = np.array(bitmap.to_pil().convert("RGB"))
        finally:
            bitmap.close()
        return PdfRasterPage(index, rgb, scale * 72.0, f"{reason}; {note}" if note else reason)
    finally:
        page.close()
