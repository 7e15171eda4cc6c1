"""Small synthetic PDFs for the OCR benchmark and tests: born-digital invoices (reportlab), scans
(an image as the only page content), scans with an invisible garbage text layer, encrypted and empty PDFs.

Not the samples generator (pipeline.samples builds realistic documents with ground truth); these only
need to exercise the PDF code paths with known text.
"""

from __future__ import annotations

import io
import random

import numpy as np
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

VENDORS = (
    "Nordwind Bürobedarf GmbH",
    "Acme Industrial Supply Ltd",
    "Lumière Papeterie SARL",
    "Kestrel Tools BV",
)
ITEMS = (
    "Copy paper A4 80g",
    "Ballpoint pens blue",
    "Toner cartridge 26X",
    "Desk lamp LED",
    "Cable ties 200mm",
    "Safety gloves L",
    "Shipping boxes 40x30",
    "Label printer tape",
)


def invoice_lines(seed: int, page: int = 0) -> list[tuple[float, float, str]]:
    """(x_pt, y_pt_from_top, text) drawn on one invoice page; also the ground truth for tests."""
    rng = random.Random(seed * 1000 + page)
    vendor = VENDORS[seed % len(VENDORS)]
    out: list[tuple[float, float, str]] = [
        (50, 60, vendor),
        (50, 76, "Hafenstrasse 12, 20457 Hamburg"),
        (400, 60, "INVOICE"),
        (400, 80, f"Invoice No: INV-{seed:05d}-{page + 1}"),
        (400, 96, "Date: 2026-03-14"),
        (50, 140, "Bill to: Example Buyer AG"),
        (50, 200, "Description"),
        (300, 200, "Qty"),
        (370, 200, "Unit price"),
        (470, 200, "Amount"),
    ]
    y, total = 222.0, 0.0
    for _ in range(rng.randint(6, 14)):
        qty, price = rng.randint(1, 20), rng.randint(100, 9999) / 100
        total += qty * price
        out += [
            (50, y, rng.choice(ITEMS)),
            (300, y, str(qty)),
            (370, y, f"{price:.2f}"),
            (470, y, f"{qty * price:.2f}"),
        ]
        y += 18
    out += [(370, y + 20, "Total EUR"), (470, y + 20, f"{total:.2f}")]
    return out


def invoice_pdf(seed: int = 0, pages: int = 1) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    _, height = A4
    for page in range(pages):
        c.setFont("Helvetica", 10)
        for x, y, text in invoice_lines(seed, page):
            c.drawString(x, height - y, text)
        c.showPage()
    c.save()
    return buf.getvalue()


def image_pdf(rgb: np.ndarray, *, garbage_layer: bool = False, seed: int = 0) -> bytes:
    """One page showing `rgb` full-bleed, like a scanner's PDF; optionally with invisible junk text on top."""
    h, w = rgb.shape[:2]
    page_w, page_h = 595.0, 595.0 * h / w
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(page_w, page_h), invariant=1)
    png = io.BytesIO()
    Image.fromarray(rgb).save(png, format="PNG")
    png.seek(0)
    c.drawImage(ImageReader(png), 0, 0, page_w, page_h)
    if garbage_layer:
        rng = random.Random(seed)
        text = c.beginText()
        text.setTextRenderMode(3)  # invisible, as OCR layers of scanners are
        text.setFont("Helvetica", 9)
        for row in range(40):
            text.setTextOrigin(20, page_h - 20 - row * 14)
            text.textOut("".join(rng.choice("~^`|{}[]<>_=+*#@") for _ in range(50)))
        c.drawText(text)
    c.showPage()
    c.save()
    return buf.getvalue()


def text_pdf(lines: list[str], *, encrypt: str | None = None) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1, encrypt=encrypt)
    for i, line in enumerate(lines):
        c.drawString(50, A4[1] - 60 - 16 * i, line)
    c.showPage()
    c.save()
    return buf.getvalue()


def empty_pdf() -> bytes:
    """A syntactically valid PDF whose page tree has zero pages."""
    import pypdfium2 as pdfium

    from pipeline.ocr.pdfium_lock import PDFIUM_LOCK

    buf = io.BytesIO()
    with PDFIUM_LOCK:
        pdf = pdfium.PdfDocument.new()
        pdf.save(buf)
        pdf.close()
    return buf.getvalue()


def long_pdf(pages: int, seed: int = 0) -> bytes:
    """Many invoice pages (for the flat-memory benchmark)."""
    return invoice_pdf(seed, pages)
