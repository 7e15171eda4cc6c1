"""Document pages for the detail view: page geometry (for the box overlay) and PNG rendering.

Provenance boxes are in page pixels at the OCR page's dpi: image pixels for images, PDF points
scaled by `pdf_dpi`/72 for PDFs. The overlay SVG uses that coordinate system as its viewBox, so the
boxes land on the rendered image whatever size the browser draws it at.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pypdfium2 as pdfium
from PIL import Image, ImageSequence

from pipeline.ocr.pdfium_lock import PDFIUM_LOCK

MAX_RENDER_PIXELS = 2600 * 3400  # bounds memory for hostile or huge pages
RENDER_DPI = 150.0


class PageError(ValueError):
    """The document cannot be shown (corrupt, unsupported type, page out of range)."""


@dataclass(frozen=True)
class PageGeometry:
    index: int
    width: float  # in provenance coordinates
    height: float


def _is_pdf(media_type: str) -> bool:
    return media_type == "application/pdf"


def geometry(data: bytes, media_type: str, pdf_dpi: float) -> list[PageGeometry]:
    try:
        if _is_pdf(media_type):
            with PDFIUM_LOCK:
                pdf = pdfium.PdfDocument(data)
                try:
                    out = []
                    for i in range(len(pdf)):
                        page = pdf[i]
                        w, h = page.get_size()
                        page.close()
                        out.append(PageGeometry(i, w * pdf_dpi / 72.0, h * pdf_dpi / 72.0))
                    return out
                finally:
                    pdf.close()
        if media_type.startswith("image/"):
            with Image.open(io.BytesIO(data)) as img:
                return [
                    PageGeometry(i, float(frame.width), float(frame.height))
                    for i, frame in enumerate(ImageSequence.Iterator(img))
                ]
    except (pdfium.PdfiumError, OSError, Image.DecompressionBombError) as exc:
        raise PageError(f"document cannot be opened ({exc.__class__.__name__})") from None
    raise PageError(f"no preview for {media_type[:60]}")


def _png(img: Image.Image) -> bytes:
    if img.width * img.height > MAX_RENDER_PIXELS:
        scale = (MAX_RENDER_PIXELS / (img.width * img.height)) ** 0.5
        img = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))))
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def render_page(data: bytes, media_type: str, index: int) -> bytes:
    """PNG of one page (re-encoded, so the browser never receives the original bytes)."""
    try:
        if _is_pdf(media_type):
            with PDFIUM_LOCK:
                pdf = pdfium.PdfDocument(data)
                try:
                    if not 0 <= index < len(pdf):
                        raise PageError("no such page")
                    page = pdf[index]
                    w, h = page.get_size()
                    scale = min(RENDER_DPI / 72.0, (MAX_RENDER_PIXELS / max(w * h, 1.0)) ** 0.5)
                    image = page.render(scale=scale).to_pil().convert("RGB")
                    page.close()
                finally:
                    pdf.close()
            return _png(image)
        if media_type.startswith("image/"):
            with Image.open(io.BytesIO(data)) as img:
                for i, frame in enumerate(ImageSequence.Iterator(img)):
                    if i == index:
                        return _png(frame.copy())
                raise PageError("no such page")
    except (pdfium.PdfiumError, OSError, Image.DecompressionBombError) as exc:
        raise PageError(f"document cannot be rendered ({exc.__class__.__name__})") from None
    raise PageError(f"no preview for {media_type[:60]}")
