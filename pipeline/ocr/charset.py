"""Restrict the recogniser to the characters a tenant's documents are written in.

PP-OCR's multilingual recogniser knows some 18,000 characters (CJK, accented Latin, symbols). On a
Malaysian receipt printed in plain ASCII, a faint 'A' may come out as 'Á' or a CJK glyph that happens to
score higher. Like PaddleOCR's `lang` choice (its English model decodes 95 characters) or Tesseract's
character whitelist, a charset masks every other class of the recogniser's output before CTC decoding:
the best allowed character wins, and the line's score drops where a masked character was on top.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

Charset = Literal["all", "latin", "ascii"]

_ASCII = {chr(c) for c in range(0x20, 0x7F)}
# Latin-1 Supplement and Latin Extended-A (European names and addresses), the euro sign and the
# typographic punctuation invoices print
_LATIN = _ASCII | {chr(c) for c in range(0xA0, 0x180)} | set("€‐‑–—‘’‚“”„•…‰′″")
CHARSETS: dict[str, frozenset[str]] = {"ascii": frozenset(_ASCII), "latin": frozenset(_LATIN)}


def class_mask(characters: Sequence[str], charset: Charset) -> np.ndarray | None:
    """1/0 per recogniser class (index 0 is CTC's blank, always kept); None when nothing is masked."""
    if charset == "all":
        return None
    allowed = CHARSETS[charset]
    mask = np.array([i == 0 or ch in allowed for i, ch in enumerate(characters)], dtype=np.float32)
    if mask.all():
        return None
    if mask.sum() <= 1:
        raise ValueError(f"charset {charset!r} leaves the recogniser no characters")
    return mask


class MaskedSession:
    """An onnxruntime session whose first output (per-step class probabilities) is multiplied by a
    class mask; everything else is the wrapped session's."""

    def __init__(self, inner: Any, mask: np.ndarray) -> None:
        self._inner = inner
        self.mask = mask

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def run(self, output_names: Any, input_feed: Any, *args: Any, **kwargs: Any) -> Any:
        outputs = self._inner.run(output_names, input_feed, *args, **kwargs)
        probs = outputs[0]
        if probs.shape[-1] != self.mask.shape[0]:
            raise ValueError(f"recogniser has {probs.shape[-1]} classes, its dictionary {self.mask.shape[0]}")
        return [probs * self.mask, *outputs[1:]]
