"""PDF text layer (pypdfium2): words and lines with boxes, plus a check whether the layer is usable.

Born-digital pages are read here without any OCR. A page whose layer is missing, garbled (no
Unicode mapping, control or private-use characters) or only invisible text over a scanned image
is reported as unusable so the caller renders and OCRs it instead.
"""

from __future__ import annotations

import ctypes
import unicodedata
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from pipeline.contracts import BBox, Line, Point, Word

TEXT_LAYER_DPI = 72.0  # text-layer coordinates are PDF points, origin top-left

MIN_CHARS = 3  # fewer visible characters than this is "no text layer"
MIN_VALID_SHARE = 0.9  # share of characters that must be real, mapped, printable glyphs
MIN_ALNUM_SHARE = 0.4  # share of non-space characters that must be letters or digits
IMAGE_COVER_SHARE = 0.5  # an image covering this share of the page makes the page a scan
GAP_SPLIT = 1.5  # split a pdfium line where the gap between words exceeds this many line heights


@dataclass
class _Char:
    ch: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in unrotated top-left page points
    generated: bool
    valid: bool


@dataclass
class TextLayer:
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)
    usable: bool = True
    reason: str = ""
    stats: dict[str, float] = field(default_factory=dict)


def _valid_char(code: int, ch: str, map_error: bool) -> bool:
    if map_error or code == 0xFFFD or code == 0:
        return False
    cat = unicodedata.category(ch)
    return not (cat in ("Co", "Cn", "Cs") or (cat == "Cc" and ch not in "\r\n\t"))


class _Transform:
    """PDF user space (origin bottom-left) -> page points with origin top-left.

    Lines are built in the unrotated page (text runs left to right there); only the finished boxes are
    turned into the displayed page's frame for /Rotate pages.
    """

    def __init__(self, page: pdfium.PdfPage) -> None:
        left, bottom, right, top = page.get_cropbox()
        self.left, self.top = left, top
        self.w0, self.h0 = right - left, top - bottom
        self.rotation = page.get_rotation() % 360
        self.width, self.height = (self.h0, self.w0) if self.rotation in (90, 270) else (self.w0, self.h0)

    def box(self, left: float, bottom: float, right: float, top: float) -> tuple[float, float, float, float]:
        """Unrotated, top-left origin."""
        # 0.01 pt is far below glyph size; full float noise would only inflate every event
        return (
            round(left - self.left, 2),
            round(self.top - top, 2),
            round(right - self.left, 2),
            round(self.top - bottom, 2),
        )

    def _turn(self, u: float, v: float) -> tuple[float, float]:
        if self.rotation == 90:
            return self.h0 - v, u
        if self.rotation == 180:
            return self.w0 - u, self.h0 - v
        if self.rotation == 270:
            return v, self.w0 - u
        return u, v

    def display(self, b: BBox) -> BBox:
        xa, ya = self._turn(b.x0, b.y0)
        xb, yb = self._turn(b.x1, b.y1)
        return BBox(x0=min(xa, xb), y0=min(ya, yb), x1=max(xa, xb), y1=max(ya, yb))

    def display_line(self, line: Line) -> Line:
        box = self.display(line.bbox)
        corners = ((box.x0, box.y0), (box.x1, box.y0), (box.x1, box.y1), (box.x0, box.y1))
        words = [w.model_copy(update={"bbox": self.display(w.bbox)}) for w in line.words]
        return line.model_copy(update={"bbox": box, "polygon": [Point(x=x, y=y) for x, y in corners], "words": words})


def _read_chars(page: pdfium.PdfPage, tf: _Transform) -> list[_Char]:
    textpage = page.get_textpage()
    try:
        raw = textpage.raw
        n = max(pdfium_c.FPDFText_CountChars(raw), 0)
        full = textpage.get_text_range(0, n) if n else ""
        aligned = len(full) == n  # one UTF-16 unit per char unless the page has non-BMP characters
        left, right, bottom, top = (ctypes.c_double() for _ in range(4))
        get_box, is_generated = pdfium_c.FPDFText_GetCharBox, pdfium_c.FPDFText_IsGenerated
        map_error = pdfium_c.FPDFText_HasUnicodeMapError
        chars: list[_Char] = []
        for i in range(n):
            if aligned:
                ch = full[i]
                code = ord(ch)
            else:
                code = pdfium_c.FPDFText_GetUnicode(raw, i)
                try:
                    ch = chr(code)
                except (ValueError, OverflowError):
                    ch, code = "\ufffd", 0xFFFD
            if ch.isspace():
                chars.append(_Char(ch, (0.0, 0.0, 0.0, 0.0), False, True))
                continue
            generated = is_generated(raw, i) == 1
            box = (0.0, 0.0, 0.0, 0.0)
            if not generated and get_box(raw, i, left, right, bottom, top):
                box = tf.box(left.value, bottom.value, right.value, top.value)
            chars.append(_Char(ch, box, generated, _valid_char(code, ch, map_error(raw, i) == 1)))
        return chars
    finally:
        textpage.close()


def _text_objects(page: pdfium.PdfPage) -> tuple[int, int]:
    """(text objects, invisible ones): scanners' OCR layers are drawn with render mode 3 (invisible)."""
    total = invisible = 0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT], max_depth=2):
        total += 1
        invisible += pdfium_c.FPDFTextObj_GetTextRenderMode(obj.raw) == pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE
    return total, invisible


def _image_cover(page: pdfium.PdfPage, tf: _Transform) -> float:
    """Largest share of the page covered by a single image object (scans are one big image)."""
    area = max(tf.w0 * tf.h0, 1e-6)
    best = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        x0, y0, x1, y1 = tf.box(left, bottom, right, top)
        w = max(0.0, min(x1, tf.w0) - max(x0, 0.0))
        h = max(0.0, min(y1, tf.h0) - max(y0, 0.0))
        best = max(best, w * h / area)
    return best


def _words_to_lines(words: list[Word]) -> list[Line]:
    """Split one pdfium line into visual pieces at wide gaps (table columns), like OCR detections."""
    lines: list[Line] = []
    piece: list[Word] = []

    def flush() -> None:
        if piece:
            x0 = min(w.bbox.x0 for w in piece)
            y0 = min(w.bbox.y0 for w in piece)
            x1 = max(w.bbox.x1 for w in piece)
            y1 = max(w.bbox.y1 for w in piece)
            lines.append(
                Line(
                    text=" ".join(w.text for w in piece),
                    bbox=BBox(x0=x0, y0=y0, x1=x1, y1=y1),
                    polygon=[Point(x=x, y=y) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))],
                    confidence=1.0,
                    order=0,
                    words=list(piece),
                )
            )
            piece.clear()

    for word in words:
        if piece:
            prev = piece[-1]
            height = max(prev.bbox.y1 - prev.bbox.y0, word.bbox.y1 - word.bbox.y0, 1.0)
            same_row = min(prev.bbox.y1, word.bbox.y1) - max(prev.bbox.y0, word.bbox.y0) > 0.3 * height
            if not same_row or word.bbox.x0 - prev.bbox.x1 > GAP_SPLIT * height or word.bbox.x0 < prev.bbox.x0:
                flush()
        piece.append(word)
    flush()
    return lines


def _build_lines(chars: list[_Char]) -> list[Line]:
    lines: list[Line] = []
    words: list[Word] = []
    text: list[str] = []
    x0 = y0 = x1 = y1 = 0.0

    def end_word() -> None:
        if text:
            words.append(Word(text="".join(text), confidence=1.0, bbox=BBox(x0=x0, y0=y0, x1=x1, y1=y1)))
            text.clear()

    for c in chars:
        if c.ch in "\r\n":
            end_word()
            lines.extend(_words_to_lines(words))
            words = []
        elif c.generated or not c.valid or c.ch.isspace():
            end_word()
        else:
            bx0, by0, bx1, by1 = c.box
            if text:
                x0, y0, x1, y1 = min(x0, bx0), min(y0, by0), max(x1, bx1), max(y1, by1)
            else:
                x0, y0, x1, y1 = bx0, by0, bx1, by1
            text.append(c.ch)
    end_word()
    lines.extend(_words_to_lines(words))
    return lines


def judge(
    chars: list[_Char], invisible_share: float, image_cover: float, ocr_invisible: bool
) -> tuple[bool, str, dict[str, float]]:
    """Is this text layer worth trusting? Returns (usable, reason-if-not, stats). Pure."""
    visible = [c for c in chars if not c.generated and not c.ch.isspace()]
    n = len(visible)
    valid = sum(c.valid for c in visible)
    alnum = sum(c.valid and c.ch.isalnum() for c in visible)
    stats = {
        "chars": float(n),
        "valid_share": valid / n if n else 0.0,
        "alnum_share": alnum / n if n else 0.0,
        "invisible_share": invisible_share,
        "image_cover": image_cover,
    }
    if n < MIN_CHARS:
        return False, "no text layer", stats
    if stats["valid_share"] < MIN_VALID_SHARE:
        return False, f"text layer garbled ({stats['valid_share']:.0%} mappable characters)", stats
    if stats["alnum_share"] < MIN_ALNUM_SHARE:
        return False, f"text layer garbled ({stats['alnum_share']:.0%} letters/digits)", stats
    if ocr_invisible and stats["invisible_share"] > 0.9 and image_cover >= IMAGE_COVER_SHARE:
        return False, "invisible text layer over a scanned image", stats
    return True, "", stats


def read_text_layer(page: pdfium.PdfPage, *, ocr_invisible: bool = True) -> TextLayer:
    """Extract lines (with words) from one page and judge whether the layer is usable."""
    tf = _Transform(page)
    chars = _read_chars(page, tf)
    invisible_share, cover = 0.0, 0.0
    if ocr_invisible and chars:
        total, invisible = _text_objects(page)
        invisible_share = invisible / total if total else 0.0
        if invisible_share > 0.9:
            cover = _image_cover(page, tf)
    usable, reason, stats = judge(chars, invisible_share, cover, ocr_invisible)
    lines = _build_lines(chars) if usable else []
    if tf.rotation:
        lines = [tf.display_line(line) for line in lines]
    return TextLayer(width=tf.width, height=tf.height, lines=lines, usable=usable, reason=reason, stats=stats)
