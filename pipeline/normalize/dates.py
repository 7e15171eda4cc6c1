"""Dates: explicit formats first (fast, exact), dateparser only for other languages' month names.

Day/month order comes from the vendor's or document's locale. A reading that the locale cannot
settle (03/04/05 with no locale) is flagged as ambiguous, never guessed; an impossible date
(31/02/2024) is invalid; relative words ("yesterday") are rejected: a document date is absolute.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

from pipeline.normalize.locales import DateOrder, canonical_locale, date_order

MIN_YEAR, MAX_YEAR = 1900, 2099
TWO_DIGIT_PIVOT = 69  # yy <= 69 -> 20yy, else 19yy (documented, fixed: no dependence on "now")


class DateResult(NamedTuple):
    value: date | None
    notes: tuple[str, ...]
    valid: bool

    @property
    def iso(self) -> str | None:
        return self.value.isoformat() if self.value else None


MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}

_RELATIVE = re.compile(
    r"\b(today|yesterday|tomorrow|now|ago|last|next|this|heute|gestern|morgen|hier|aujourd'hui|demain|"
    r"ayer|hoy|mañana|semalam|esok|hari ini)\b",
    re.IGNORECASE,
)
_LABEL = re.compile(r"^(?:invoice\s+date|date|dated|datum|tarikh|fecha)\s*[:.#]?\s*", re.IGNORECASE)
_TIME = re.compile(
    r"[\sT,]+\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?\s*(?:[ap]\.?m\.?)?(?:\s*(?:z|[+-]\d{2}:?\d{2}))?$",
    re.IGNORECASE,
)
_HU = re.compile(r"\d{4}\. \d{1,2}\. \d{1,2}\.?")
_NUMERIC = re.compile(r"^(\d{1,4})\s*([./\-\s])\s*(\d{1,2})\s*\2\s*(\d{1,4})\.?$")
_COMPACT = re.compile(r"^(\d{8})$")
_D_MON_Y = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[\s\-/.,]*([A-Za-z]{3,9})\.?[\s\-/.,]*(\d{4}|\d{2})$")
_MON_D_Y = re.compile(r"^([A-Za-z]{3,9})\.?[\s\-/.]*(\d{1,2})(?:st|nd|rd|th)?\s*,?[\s\-/.]*(\d{4}|\d{2})$")
_Y_MON_D = re.compile(r"^(\d{4})[\s\-/.]*([A-Za-z]{3,9})\.?[\s\-/.]*(\d{1,2})$")

_ORDER_WORDS = {"DMY": "day first", "MDY": "month first", "YMD": "year first"}


def _year(text: str) -> tuple[int, str | None]:
    y = int(text)
    if len(text) == 2:
        full = 2000 + y if y <= TWO_DIGIT_PIVOT else 1900 + y
        return full, f"two-digit year {text} read as {full}"
    return y, None


def _make(y: int, m: int, d: int) -> date | None:
    if not MIN_YEAR <= y <= MAX_YEAR:
        return None
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _clean(raw: str) -> str:
    text = " ".join(raw.split())
    text = text.strip(" \t()[]{}<>\"'")
    if text[:1].isalpha():  # only then can it start with a label ("Date: ...")
        text = _LABEL.sub("", text)
    if ":" in text:  # only then can it end with a time
        text = _TIME.sub("", text).strip(" ,;")
    if ". " in text and _HU.fullmatch(text):
        return text.replace(". ", ".")
    return text


def _readings(parts: tuple[str, str, str]) -> dict[DateOrder, tuple[date | None, str | None]]:
    """Every plausible day/month/year reading of three numeric parts (by digit counts)."""
    a, b, c = parts
    orders: list[DateOrder] = []
    if len(a) == 4:
        orders = ["YMD"]
    elif len(a) <= 2 and len(c) in (2, 4):
        orders = ["DMY", "MDY", "YMD"] if len(c) == 2 else ["DMY", "MDY"]
    out: dict[DateOrder, tuple[date | None, str | None]] = {}
    for order in orders:
        if order == "YMD":
            y, note = _year(a)
            out[order] = (_make(y, int(b), int(c)), note)
        else:
            y, note = _year(c)
            d, m = (int(a), int(b)) if order == "DMY" else (int(b), int(a))
            out[order] = (_make(y, m, d), note)
    return out


def _resolve_numeric(
    text: str, parts: tuple[str, str, str], locale: str | None, doc_order: DateOrder | None = None
) -> DateResult:
    readings = _readings(parts)
    if not readings:
        return DateResult(None, (f"'{text}' is not a day/month/year pattern",), False)
    valid = {order: r for order, r in readings.items() if r[0] is not None}
    if not valid:
        return DateResult(
            None, (f"impossible date '{text}': no day/month/year reading is a real calendar date",), False
        )
    distinct = sorted({r[0] for r in valid.values() if r[0] is not None})
    order = date_order(locale)
    source = f"the locale {locale} writes dates"
    if order is None and doc_order is not None:
        order, source = doc_order, "another date on this document is written"
    if order in valid:
        chosen, ynote = valid[order]
        notes: list[str] = []
        if len(distinct) > 1:
            notes.append(
                f"read {_ORDER_WORDS[order]} as {source} "
                f"(other reading: {', '.join(d.isoformat() for d in distinct if d != chosen)})"
            )
        if ynote:
            notes.append(ynote)
        return DateResult(chosen, tuple(notes), True)
    if len(distinct) == 1:
        chosen = distinct[0]
        first_order = next(o for o, r in valid.items() if r[0] == chosen)
        notes = []
        if order is not None:
            notes.append(
                f"read {_ORDER_WORDS[first_order]} although {source} {_ORDER_WORDS[order]}: "
                "the other reading is not a real date"
            )
        ynote = valid[first_order][1]
        if ynote:
            notes.append(ynote)
        return DateResult(chosen, tuple(notes), True)
    options = " or ".join(d.isoformat() for d in distinct)
    why = "no locale known for this document" if order is None else f"{source} {_ORDER_WORDS[order]}"
    return DateResult(None, (f"ambiguous date '{text}': could be {options} ({why})",), False)


def _textual(day: str, month: str, year: str) -> DateResult | None:
    m = MONTHS.get(month.lower())
    if m is None:
        return None
    y, note = _year(year)
    value = _make(y, m, int(day))
    if value is None:
        return DateResult(None, (f"impossible date: day {day} of {month.title()} {y}",), False)
    return DateResult(value, (note,) if note else (), True)


# Languages tried when the locale is unknown: a fixed list keeps dateparser deterministic and ~30x
# faster than its all-languages detection.
FALLBACK_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt")
_MONTH_WORD = re.compile(r"[^\W\d_]{3,}")


@lru_cache(maxsize=16)
def _dateparser(order: str | None, languages: tuple[str, ...]) -> Any:
    from dateparser.date import DateDataParser

    settings = {
        "PARSERS": ["custom-formats", "absolute-time"],
        "STRICT_PARSING": True,
        "REQUIRE_PARTS": ["day", "month", "year"],
        "PREFER_LOCALE_DATE_ORDER": order is None,
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    if order:
        settings["DATE_ORDER"] = order
    return DateDataParser(languages=list(languages), settings=settings)


def _with_dateparser(text: str, locale: str | None) -> DateResult:
    loc = canonical_locale(locale)
    language = loc.split("_")[0] if loc else None
    if len(text) > 40 or not _MONTH_WORD.search(text):
        return DateResult(None, (f"'{text[:40]}' is not a recognisable date",), False)
    try:
        found = None
        if language is not None:
            found = _dateparser(date_order(loc), (language,)).get_date_data(text).date_obj
        if found is None:
            found = _dateparser(date_order(loc), FALLBACK_LANGUAGES).get_date_data(text).date_obj
    except Exception:  # dateparser is a third-party heuristic: any failure is "not a date"
        found = None
    if found is None:
        return DateResult(None, (f"'{text}' is not a recognisable date",), False)
    value = found.date()
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        return DateResult(None, (f"year {value.year} is outside {MIN_YEAR}-{MAX_YEAR}",), False)
    return DateResult(value, ("parsed by dateparser (non-English month name)",), True)


def order_evidence(raw: str | None) -> DateOrder | None:
    """The day/month order a numeric date proves by itself ('28/02/2016' -> DMY), or None."""
    if not raw:
        return None
    m = _NUMERIC.match(" ".join(raw.split()).strip("()[] "))
    if m is None or len(m.group(1)) == 4:
        return None
    valid = {o for o, r in _readings((m.group(1), m.group(3), m.group(4))).items() if r[0] is not None}
    return next(iter(valid)) if len(valid) == 1 and valid <= {"DMY", "MDY"} else None


@lru_cache(maxsize=65536)
def parse_date(raw: str | None, locale: str | None = None, doc_order: DateOrder | None = None) -> DateResult:
    """Parse a document date. Pure and cached: same (raw, locale, doc_order) -> same result. Never raises.

    `doc_order` is the day/month order other dates on the same document prove; it applies only when
    the locale is unknown."""
    if raw is None or not raw.strip():
        return DateResult(None, ("no date given",), False)
    if len(raw) > 64:
        return DateResult(None, ("date text longer than 64 characters",), False)
    if (m := _NUMERIC.match(raw)) is not None:  # already clean: skip the label/time stripping
        return _resolve_numeric(raw, (m.group(1), m.group(3), m.group(4)), locale, doc_order)
    text = _clean(raw)
    rel = _RELATIVE.search(text)
    if rel:
        return DateResult(
            None, (f"relative date '{rel.group(0)}' rejected: a document date must be absolute",), False
        )
    if (m := _NUMERIC.match(text)) is not None:
        return _resolve_numeric(text, (m.group(1), m.group(3), m.group(4)), locale, doc_order)
    if (m := _COMPACT.match(text)) is not None:
        digits = m.group(1)
        ymd = _make(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        if ymd is not None:
            return DateResult(ymd, ("8-digit date read as yyyymmdd",), True)
        return _resolve_numeric(text, (digits[:2], digits[2:4], digits[4:]), locale, doc_order)
    for pattern, groups in ((_D_MON_Y, (1, 2, 3)), (_MON_D_Y, (2, 1, 3)), (_Y_MON_D, (3, 2, 1))):
        if (m := pattern.match(text)) is not None:
            res = _textual(m.group(groups[0]), m.group(groups[1]), m.group(groups[2]))
            if res is not None:
                return res
    if not any(ch.isdigit() for ch in text):
        return DateResult(None, (f"'{text[:40]}' is not a date (no digits)",), False)
    if any(ch.isalpha() for ch in text):
        return _with_dateparser(text, locale)
    return DateResult(None, (f"'{text[:40]}' is not a recognisable date",), False)
