"""Replay a display list into PDF bytes with reportlab.

`invariant=1` removes the creation date and random document id, so the same display list always
gives byte-identical files (the determinism guarantee rests on this).
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import reportlab
from PIL import Image, ImageDraw, ImageFont
from reportlab import rl_config
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from pipeline.samples.draw import DrawDoc, Handwriting, Op, Rect, Rule, Text

# Binary (Flate only) content streams: smaller files and no pure-Python ASCII85 pass per page.
rl_config.useA85 = 0

# A calligraphic pen script shipped with reportlab (full Latin coverage incl. digits and punctuation).
_SCRIPT_FONT = Path(reportlab.__file__).parent / "fonts" / "callig15.pfb"
_HW_SCALE = 3.0  # handwriting images at 3 px per point (216 dpi): sharp enough for any rendering


@lru_cache(maxsize=16)
def _script_font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(str(_SCRIPT_FONT), px)
    except OSError:  # font missing from a trimmed reportlab install: any font still looks hand-placed
        return ImageFont.load_default(px)


def handwriting_image(op: Handwriting) -> Image.Image:
    """Pen-coloured script text with an underline stroke, rotated, on a transparent background."""
    px = int(op.size * 1.5 * _HW_SCALE)
    font = _script_font(px)
    pen = max(1, px // 40)  # a ball-pen stroke survives the 1-bit fax threshold
    left, top, right, bottom = font.getbbox(op.text, stroke_width=pen)
    pad = int(op.size * 0.6 * _HW_SCALE)
    size = (int(right - left) + 2 * pad, int(bottom - top) + 2 * pad)
    img = Image.new("RGBA", size, (255, 255, 255, 0))
    draw = ImageDraw.Draw(img)
    ink = (*tuple(int(c * 255) for c in op.color), 235)
    draw.text((pad - left, pad - top), op.text, font=font, fill=ink, stroke_width=pen, stroke_fill=ink)
    y = bottom - top + pad + int(op.size * 0.25 * _HW_SCALE)
    draw.line(
        [(pad, y), (img.width - pad, y - int(op.size * 0.2 * _HW_SCALE))],
        fill=ink,
        width=max(2, int(op.size * 0.08 * _HW_SCALE)),
    )
    return img.rotate(op.angle, resample=Image.Resampling.BICUBIC, expand=True)


def handwriting_box(op: Handwriting) -> tuple[float, float, float, float]:
    img = handwriting_image(op)
    return (op.x, op.y, op.x + img.width / _HW_SCALE, op.y + img.height / _HW_SCALE)


def render_pdf(doc: DrawDoc, title: str = "") -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(doc.width, doc.height), invariant=1, pageCompression=1)
    if title:
        c.setTitle(title)
    c.setAuthor("docpipe samples")
    h = doc.height
    by_page: list[list[Op]] = [[] for _ in range(doc.pages)]
    for op in doc.ops:
        by_page[op.page].append(op)
    for ops in by_page:
        for op in ops:
            if isinstance(op, Text):
                c.setFillColorRGB(*op.color)
                c.setFont(op.font, op.size)
                if op.align == "right":
                    c.drawRightString(op.x, h - op.y, op.text)
                elif op.align == "center":
                    c.drawCentredString(op.x, h - op.y, op.text)
                else:
                    c.drawString(op.x, h - op.y, op.text)
            elif isinstance(op, Rule):
                c.setStrokeColorRGB(*op.color)
                c.setLineWidth(op.width)
                c.line(op.x0, h - op.y0, op.x1, h - op.y1)
            elif isinstance(op, Rect):
                if op.fill is not None:
                    c.setFillColorRGB(*op.fill)
                if op.stroke is not None:
                    c.setStrokeColorRGB(*op.stroke)
                    c.setLineWidth(op.width)
                c.rect(
                    op.x,
                    h - op.y - op.h,
                    op.w,
                    op.h,
                    stroke=int(op.stroke is not None),
                    fill=int(op.fill is not None),
                )
            elif isinstance(op, Handwriting):
                img = handwriting_image(op)
                w, hh = img.width / _HW_SCALE, img.height / _HW_SCALE
                c.drawImage(ImageReader(img), op.x, h - op.y - hh, w, hh, mask="auto")
        c.showPage()
    c.save()
    return buf.getvalue()
