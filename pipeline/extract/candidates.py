"""Deterministic answer candidates per constraint kind (amounts, dates, currencies, codes, IBANs).

For these kinds the model does not choose free spans: it ranks the candidate spans found here,
each on a single line. That removes multi-line and half-number answers by construction.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_MON = r"(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|SEPT|OCT|NOV|DEC)[A-Z]*\.?"
DATE_PATTERNS = [
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}",  # 2018-03-04
    r"\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}",  # 25/12/2018, 25-12-18, 25.12.18
    rf"\d{{1,2}}[-/ ]?{_MON}[-/ ,]*\d{{2,4}}",  # 05 MAR 2018, 05-Mar-2018, 5MAR18
    rf"{_MON} ?\d{{1,2}},? ?\d{{2,4}}",  # OCT 3, 2016
    r"(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])",  # 20180304
    r"(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])(?:19|20)\d{2}",  # 25032018
]
DATE_RE = re.compile(r"(?<![\w])(?:" + "|".join(DATE_PATTERNS) + r")(?![\w])", re.IGNORECASE)
DATE_LOCALES = ("en", "de", "fr", "es", "nl", "it", "pt")


def _month_names() -> str:
    """Month names of the invoice locales from CLDR (babel), longest first so 'September' beats 'Sep'."""
    from babel.dates import get_month_names

    names = {
        n.rstrip(".")
        for loc in DATE_LOCALES
        for width in ("wide", "abbreviated")
        for n in get_month_names(width, locale=loc).values()
    }
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


# "10. September 2026", "14 décembre 2026", "5 de octubre de 2026", "1er mars 2026"
LOCAL_DATE_RE = re.compile(
    rf"(?<![\w])\d{{1,2}}(?:\.|er|º)? ?(?:de )?(?:{_month_names()})\.?,? (?:de )?\d{{4}}(?![\w])",
    re.IGNORECASE,
)
# VAT/tax ids printed with a country prefix and spaces: "DE 483289389", "GB 935 6050 26"
SPACED_ID_RE = re.compile(r"(?<![\w])[A-Z]{2} ?\d{2,12}(?: \d{2,4}){0,3}(?: ?[A-Z]\d{0,3})?(?![\w])")
# 1,234.56 / 1.234,56 / 1 234,56 / 12.5 / 9.00 ; optional sign; no leading currency (ranked by the model)
AMOUNT_RE = re.compile(r"(?<![\d.,])-?(?:\d{1,3}(?:[,.']\d{3})+|\d+)(?:[.,]\d{1,2})(?![\d])")
# space-grouped thousands (1 234,56) as extra candidates: "QTY 1 100.00" yields both readings
AMOUNT_SPACED_RE = re.compile(r"(?<![\d.,])-?\d{1,3}(?:[ \u00a0]\d{3})+(?:[.,]\d{1,2})(?![\d])")
CURRENCY_RE = re.compile(
    r"(?<![A-Za-z])(?:RM|MYR|USD|EUR|GBP|SGD|CHF|JPY|CNY|INR|AUD|CAD|SEK|NOK|DKK|PLN|CZK|HUF)(?![A-Za-z])"
    r"|[$€£¥₹]"
)
CODE_RE = re.compile(r"(?<![\w])[A-Z0-9][A-Z0-9/_.-]{1,30}[A-Z0-9](?![\w])", re.IGNORECASE)
IBAN_RE = re.compile(r"(?<![A-Z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Z0-9])")


def parse_amount(text: str) -> Decimal | None:
    """Best-effort decimal value of an amount string ('1,234.50', '1.234,50', 'RM 9.00', '43.7')."""
    s = re.sub(r"[^\d.,\-]", "", text.replace("\u00a0", " ").replace(" ", ""))
    if not s or not re.search(r"\d", s):
        return None
    neg = s.startswith("-")
    s = s.lstrip("-")
    last_dot, last_comma = s.rfind("."), s.rfind(",")
    dec_pos = max(last_dot, last_comma)
    if dec_pos >= 0 and len(s) - dec_pos - 1 in (1, 2):
        whole, frac = s[:dec_pos], s[dec_pos + 1 :]
    else:
        whole, frac = s, ""
    whole = re.sub(r"[.,]", "", whole)
    try:
        val = Decimal(f"{whole or '0'}.{frac or '0'}")
    except InvalidOperation:
        return None
    return -val if neg else val


def _regex_for(kind: str) -> re.Pattern[str] | None:
    return {
        "amount": AMOUNT_RE,
        "date": DATE_RE,
        "currency": CURRENCY_RE,
        "code": CODE_RE,
        "iban": IBAN_RE,
    }.get(kind)


def line_candidates(kind: str, line: str) -> list[tuple[int, int]]:
    """Char spans within one line that satisfy the constraint kind ([] for free-text kinds)."""
    rx = _regex_for(kind)
    if rx is None:
        return []
    spans = [(m.start(), m.end()) for m in rx.finditer(line)]
    extra = {"amount": AMOUNT_SPACED_RE, "date": LOCAL_DATE_RE, "code": SPACED_ID_RE}.get(kind)
    if extra is not None:
        spans = sorted(set(spans) | {(m.start(), m.end()) for m in extra.finditer(line)})
    if kind == "code":  # identifiers contain a digit; plain words are not ids
        spans = [(s, e) for s, e in spans if any(ch.isdigit() for ch in line[s:e])]
    return spans


def is_candidate_kind(kind: str) -> bool:
    return _regex_for(kind) is not None
