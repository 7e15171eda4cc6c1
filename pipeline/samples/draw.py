"""A tiny display list: what a layout puts on each page, in PDF points with a top-left origin.

Layouts emit these operations; the PDF renderer replays them and the ground truth is computed from
the same objects, so a value's box is the box of the glyphs that were actually drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from reportlab.pdfbase import pdfmetrics

Color = tuple[float, float, float]
BLACK: Color = (0.0, 0.0, 0.0)

A4 = (595.28, 841.89)
LETTER = (612.0, 792.0)

FONT_FAMILIES: dict[str, tuple[str, str, str]] = {
    # family -> (regular, bold, italic)
    "Helvetica": ("Helvetica", "Helvetica-Bold", "Helvetica-Oblique"),
    "Times": ("Times-Roman", "Times-Bold", "Times-Italic"),
    "Courier": ("Courier", "Courier-Bold", "Courier-Oblique"),
}


@cache
def _metrics(font: str) -> tuple[float, float]:
    face = pdfmetrics.getFont(font).face
    return face.ascent / 1000.0, face.descent / 1000.0


def text_width(text: str, font: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, font, size)


@dataclass(slots=True)
class Text:
    page: int
    x: float  # anchor: left edge, right edge or centre depending on align
    y: float  # baseline, measured from the top of the page
    text: str
    font: str
    size: float
    align: str = "left"
    color: Color = BLACK
    tag: str | None = None  # ground-truth field this text carries, e.g. "total" or "line_items.3.amount"
    occurrence: int = 0  # 0 = primary place of the value; >0 = repeated elsewhere (footer, next page)

    def bbox(self) -> tuple[float, float, float, float]:
        width = text_width(self.text, self.font, self.size)
        if self.align == "right":
            x0 = self.x - width
        elif self.align == "center":
            x0 = self.x - width / 2
        else:
            x0 = self.x
        ascent, descent = _metrics(self.font)
        return (x0, self.y - ascent * self.size, x0 + width, self.y - descent * self.size)


@dataclass(slots=True)
class Rule:
    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    width: float = 0.6
    color: Color = BLACK


@dataclass(slots=True)
class Rect:
    page: int
    x: float
    y: float  # top edge
    w: float
    h: float
    fill: Color | None = None
    stroke: Color | None = BLACK
    width: float = 0.6


@dataclass(slots=True)
class Handwriting:
    """Pen annotation drawn as an image (never part of the text layer), e.g. "ok to pay - JK"."""

    page: int
    x: float
    y: float  # top edge
    text: str
    size: float
    angle: float
    color: Color = (0.1, 0.15, 0.6)


Op = Text | Rule | Rect | Handwriting


@dataclass
class DrawDoc:
    width: float
    height: float
    ops: list[Op] = field(default_factory=list)
    pages: int = 1

    def add(self, op: Op) -> Op:
        self.ops.append(op)
        if op.page + 1 > self.pages:
            self.pages = op.page + 1
        return op

    def texts(self) -> list[Text]:
        return [op for op in self.ops if isinstance(op, Text)]
