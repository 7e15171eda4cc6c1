"""PO numbers by configured patterns: labels stripped, canonical form PREFIX-DIGITS (e.g. 'PO-4500012').

Patterns are regexes with a named group `id`; the first that matches wins. The same canonical form
is used when loading the PO master, so 'PO 4500012', 'po#4500012' and 'PO-4500012' all meet.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

DEFAULT_PATTERNS: tuple[str, ...] = (
    r"^(?:p\.?\s?o\.?|purchase\s+order|order)?\s*(?:no\.?|number|nr\.?|#)?\s*[:#.\-]?\s*"
    r"(?P<id>[A-Za-z]{1,4}[\s\-/_]?\d{3,12}(?:[\-/]\d{1,6})?)$",
    r"^(?:p\.?\s?o\.?|purchase\s+order)\s*(?:no\.?|number|nr\.?|#)?\s*[:#.\-]?\s*(?P<id>\d{3,12})$",
    r"^(?P<id>\d{6,12})$",
)


class PoResult(NamedTuple):
    value: str | None
    notes: tuple[str, ...]
    valid: bool


@lru_cache(maxsize=32)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


def po_key(identifier: str) -> str:
    """Matching key: alphanumerics, upper-case, a leading 'PO' label dropped ('PO-4500012' -> '4500012')."""
    key = re.sub(r"[^0-9A-Z]", "", identifier.upper())
    return key[2:] if key.startswith("PO") and len(key) > 2 and key[2].isdigit() else key


def canonical_po(identifier: str) -> str:
    text = re.sub(r"[\s_/]+", "-", identifier.strip().upper())
    m = re.match(r"^([A-Z]+)-?(\d.*)$", text)
    return f"{m.group(1)}-{m.group(2)}" if m else text


@lru_cache(maxsize=16384)
def normalize_po_number(raw: str | None, patterns: tuple[str, ...] = DEFAULT_PATTERNS) -> PoResult:
    """Raw PO reference -> canonical PO number, or invalid with the reason. Never raises."""
    if raw is None or not raw.strip():
        return PoResult(None, ("no PO number given",), False)
    text = " ".join(raw.split())
    if len(text) > 60:
        return PoResult(None, ("PO number text longer than 60 characters",), False)
    for i, rx in enumerate(_compiled(patterns)):
        m = rx.match(text)
        if m:
            value = canonical_po(m.group("id"))
            notes = () if value == text else (f"canonical form of '{text}'",)
            if i > 0:
                notes = (*notes, f"matched configured pattern #{i + 1}")
            return PoResult(value, notes, True)
    return PoResult(None, (f"'{text[:40]}' does not match any configured PO number pattern",), False)
