"""PDF text layer first; pages without a usable layer are detected (and rendered for OCR)."""

from __future__ import annotations

import numpy as np
import pypdfium2 as pdfium

from pipeline.ocr import synth
from pipeline.ocr.document import iter_document
from pipeline.ocr.images import ImageLimits
from pipeline.ocr.pdf import PdfRasterPage, PdfTextPage, iter_pdf_pages, render_scale
from pipeline.ocr.pdf_text import _Char, judge, read_text_layer
from pipeline.ocr.settings import OcrSettings

LIMITS = ImageLimits(max_pixels=60_000_000, max_side=20_000, min_side=8, max_frames=50)


def _no_engine():  # type: ignore[no-untyped-def]
    raise AssertionError("a born-digital page must not need the OCR engine")


def test_born_digital_invoice_read_from_text_layer() -> None:
    pdf = synth.invoice_pdf(seed=7, pages=2)
    pages = [
        o.page for o in iter_document(pdf, "application/pdf", OcrSettings(), max_pages=5, engine=_no_engine)
    ]
    assert [p.source for p in pages] == ["text_layer", "text_layer"]
    expected = [text for _, _, text in sorted(synth.invoice_lines(7, 0), key=lambda t: (t[1], t[0]))]
    got = [ln.text for ln in pages[0].lines]
    assert got == expected  # every drawn string, each its own line, in reading order
    first = pages[0].lines[0]
    assert first.words and first.words[0].text == expected[0].split()[0]
    # boxes are in points from the top-left: the vendor name sits ~60 pt down, ~50 pt in
    assert 45 < first.bbox.x0 < 55 and 45 < first.bbox.y0 < 62 and first.bbox.y1 < 65
    # table columns of one row share a row index
    rows = {ln.text: ln.row for ln in pages[0].lines}
    assert rows["Description"] == rows["Qty"] == rows["Unit price"] == rows["Amount"]
    assert (
        rows["Description"] is not None
        and rows["INVOICE"] is not None
        and rows["Description"] > rows["INVOICE"]
    )


def test_scan_and_garbage_layer_pages_are_rendered() -> None:
    rgb = np.full((400, 300, 3), 255, np.uint8)
    rgb[100:120, 40:260] = 0
    for pdf, reason in (
        (synth.image_pdf(rgb), "no text layer"),
        (synth.image_pdf(rgb, garbage_layer=True), "garbled"),
    ):
        (page,) = list(iter_pdf_pages(pdf, limits=LIMITS, dpi=100))
        assert isinstance(page, PdfRasterPage)
        assert reason in page.reason
        assert page.dpi == 100 and page.rgb.shape[2] == 3 and abs(page.rgb.shape[1] - 595 * 100 / 72) <= 1


def test_invisible_but_clean_layer_over_scan_is_reocred_by_default() -> None:
    import io

    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf, png = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (200, 300), "white").save(png, format="PNG")
    png.seek(0)
    c = canvas.Canvas(buf, pagesize=(200, 300))
    c.drawImage(ImageReader(png), 0, 0, 200, 300)
    t = c.beginText(20, 250)
    t.setTextRenderMode(3)
    t.textOut("Invoice 12345 total 99.00")
    c.drawText(t)
    c.save()
    pdf = pdfium.PdfDocument(buf.getvalue())
    layer = read_text_layer(pdf[0])
    assert not layer.usable and "invisible" in layer.reason
    assert read_text_layer(pdf[0], ocr_invisible=False).usable


def test_judge_rejects_unmapped_and_symbol_soup() -> None:
    box = (0.0, 0.0, 1.0, 1.0)
    clean = [_Char(c, box, False, True) for c in "Total 12.50"]
    assert judge(clean, 0.0, 0.0, True)[0]
    unmapped = [_Char(c, box, False, False) for c in "\x03\x11\x07\x05"] + clean[:2]
    ok, reason, _ = judge(unmapped, 0.0, 0.0, True)
    assert not ok and "mappable" in reason
    soup = [_Char(c, box, False, True) for c in "~^`|{}[]<>_=+*#@~^`|"]
    assert not judge(soup, 0.0, 0.0, True)[0]
    assert judge([], 0.0, 0.0, True)[1] == "no text layer"


def test_mixed_document_page_by_page() -> None:
    from pypdfium2 import PdfDocument

    born = PdfDocument(synth.invoice_pdf(1, pages=1))
    scan = PdfDocument(synth.image_pdf(np.full((200, 150, 3), 255, np.uint8)))
    born.import_pages(scan)
    import io

    buf = io.BytesIO()
    born.save(buf)
    kinds = [type(p) for p in iter_pdf_pages(buf.getvalue(), limits=LIMITS, dpi=72)]
    assert kinds == [PdfTextPage, PdfRasterPage]


def test_render_scale_respects_pixel_limit() -> None:
    scale, note = render_scale(595, 842, 200, ImageLimits(1_000_000, 20_000, 8, 1))
    assert 595 * 842 * scale * scale <= 1_000_000 and "pixel limit" in note
    assert render_scale(595, 842, 200, LIMITS) == (200 / 72, "")


def test_rotated_page_text_layer_in_displayed_coordinates() -> None:
    import io

    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(600, 400))  # reportlab writes a 400 x 600 MediaBox for /Rotate 90
    c.setPageRotation(90)  # displayed turned clockwise: 600 x 400
    c.setFont("Helvetica", 20)
    c.drawString(50, 500, "Top line")
    c.save()
    data = buf.getvalue()
    (page,) = [
        o.page for o in iter_document(data, "application/pdf", OcrSettings(), max_pages=1, engine=_no_engine)
    ]
    (line,) = page.lines
    # ground truth: where the glyphs land when pdfium renders the page as displayed (1 px = 1 pt)
    pdf = pdfium.PdfDocument(data)
    ink = np.array(pdf[0].render(scale=1).to_pil().convert("L")) < 128
    ys, xs = np.nonzero(ink)
    assert (round(page.width), round(page.height)) == (ink.shape[1], ink.shape[0])
    assert abs(line.bbox.x0 - xs.min()) < 4 and abs(line.bbox.x1 - xs.max()) < 4
    assert abs(line.bbox.y0 - ys.min()) < 4 and abs(line.bbox.y1 - ys.max()) < 4
