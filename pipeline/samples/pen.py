"""Drawing helpers shared by the layouts: a pen that knows the page, fonts and occurrence counters."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from pipeline.samples.draw import (
    BLACK,
    FONT_FAMILIES,
    Color,
    DrawDoc,
    Handwriting,
    Rect,
    Rule,
    Text,
    text_width,
)
from pipeline.samples.locales import LocaleSpec, fmt_number


class Pen:
    def __init__(self, doc: DrawDoc, family: str, size: float) -> None:
        self.doc = doc
        self.regular, self.bold, self.italic = FONT_FAMILIES[family]
        self.size = size
        self.page = 0
        self._occ: Counter[str] = Counter()

    def occurrence(self, tag: str | None) -> int:
        """Next occurrence number for a tag: 0 for the first time the value is printed."""
        if tag is None:
            return 0
        n = self._occ[tag]
        self._occ[tag] += 1
        return n

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        font: str | None = None,
        size: float | None = None,
        align: str = "left",
        tag: str | None = None,
        occ: int | None = None,
        color: Color = BLACK,
    ) -> Text:
        op = Text(
            self.page,
            x,
            y,
            text,
            font or self.regular,
            size or self.size,
            align,
            color,
            tag,
            self.occurrence(tag) if occ is None else occ,
        )
        self.doc.add(op)
        return op

    def width(self, text: str, font: str | None = None, size: float | None = None) -> float:
        return text_width(text, font or self.regular, size or self.size)

    def fit_size(self, text: str, font: str, size: float, max_width: float) -> float:
        """Largest size <= `size` (0.5 pt steps, not below 5 pt) at which `text` fits `max_width`."""
        while size > 5 and self.width(text, font, size) > max_width:
            size -= 0.5
        return size

    def wrap(
        self, text: str, max_width: float, font: str | None = None, size: float | None = None
    ) -> list[str]:
        """Greedy word wrap to `max_width` points."""
        lines: list[str] = []
        current = ""
        for word in text.split():
            candidate = f"{current} {word}" if current else word
            if current and self.width(candidate, font, size) > max_width:
                lines.append(current)
                current = word
            else:
                current = candidate
        if current:
            lines.append(current)
        return lines

    def label_value(
        self,
        x: float,
        y: float,
        label: str,
        value: str,
        tag: str | None,
        *,
        value_x: float | None = None,
        align: str = "left",
        sep: str = ":",
    ) -> Text:
        """`Label: value` with the value as its own text run (so its box covers only the value)."""
        lab = f"{label}{sep}" if sep else label
        self.text(x, y, lab, font=self.bold)
        vx = value_x if value_x is not None else x + self.width(lab, self.bold) + self.size * 0.5
        return self.text(vx, y, value, align=align, tag=tag)

    def rule(
        self, x0: float, y0: float, x1: float, y1: float, width: float = 0.6, color: Color = BLACK
    ) -> None:
        self.doc.add(Rule(self.page, x0, y0, x1, y1, width, color))

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        *,
        fill: Color | None = None,
        stroke: Color | None = BLACK,
        width: float = 0.6,
    ) -> None:
        self.doc.add(Rect(self.page, x, y, w, h, fill, stroke, width))

    def handwriting(self, x: float, y: float, text: str, size: float, angle: float) -> None:
        self.doc.add(Handwriting(self.page, x, y, text, size, angle))


def rate_text(rate: Decimal, spec: LocaleSpec) -> str:
    exponent = rate.normalize().as_tuple().exponent
    decimals = max(0, -exponent) if isinstance(exponent, int) else 0
    return fmt_number(rate, spec, decimals)
