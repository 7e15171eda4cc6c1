"""Amounts and quantities: locale separators, currency symbols, negatives; Decimal, never float.

"1.234,56" and "1,234.56" are settled by position (the last separator is the decimal one); a
lone separator followed by three digits ("1,234") is settled by the locale or by the currency's
minor units and is otherwise flagged as ambiguous. Credit notes and negatives: "-12", "12-",
"(12.00)", "12.00 CR".
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import NamedTuple

from pipeline.normalize.currency import resolve_symbol
from pipeline.normalize.locales import currency_precision, number_symbols

MAX_DIGITS = 18


class AmountResult(NamedTuple):
    value: Decimal | None
    currency: str | None
    notes: tuple[str, ...]
    valid: bool

    @property
    def text(self) -> str | None:
        return None if self.value is None else format(self.value, "f")


_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\t": " "})
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2012": "-", "\ufe63": "-", "\uff0d": "-"})
_CORE = re.compile(r"\d(?:[\d.,'’ ]*\d)?")
_SIGN_WORDS = re.compile(r"\b(CR|Cr|cr|credit|CREDIT|Credit|DR|Dr|dr)\b\.?")
_GROUPING_CHARS = re.compile(r"[ '’]")
# Fast path: the commonest shape (optional minus, digits, '.' or ',' and one or two decimals) has exactly
# one reading under every rule below, so it skips the general parser.
_PLAIN = re.compile(r"^(-?)(\d{1,15})(?:[.,](\d{1,2}))?$")
# Second fast path: thousands groups and a one- or two-digit decimal part with the other separator
# ("1,234.56", "1.234.567,89"): the last separator is the decimal one, exactly as _parse_core decides.
_GROUPED = re.compile(r"^(-?)(\d{1,3}(?:([.,])\d{3})+)([.,])(\d{1,2})$")
_UNIT_WORDS = re.compile(r"^(?:pcs?|pc\.|ea|each|x|units?|nos?|qty|kg|g|l|m|hrs?|h|days?)$", re.IGNORECASE)


def _bad(note: str) -> AmountResult:
    return AmountResult(None, None, (note,), False)


def _groups_ok(int_part: str, sep: str) -> bool:
    """Thousands groups of 3 (or Indian 2-digit groups before the last 3)."""
    groups = int_part.split(sep)
    if not groups[0] or len(groups[0]) > 3 or any(len(g) != 3 for g in groups[-1:]):
        return False
    middle = groups[1:-1]
    return all(len(g) == 3 for g in middle) or all(len(g) == 2 for g in middle)


def _parse_core(
    core: str, locale: str | None, currency: str | None, money: bool, notes: list[str]
) -> Decimal | str | None:
    """Digits with separators -> Decimal, or an error string."""
    compact = _GROUPING_CHARS.sub("", core)
    if " " in core.strip() or "'" in core or "’" in core:
        parts = _GROUPING_CHARS.split(core)
        if any(not p for p in parts) or any(len(p.split(".")[0].split(",")[0]) != 3 for p in parts[1:]):
            return f"'{core}' has irregular digit grouping"
    dots, commas = compact.count("."), compact.count(",")
    if dots and commas:
        dec = "." if compact.rfind(".") > compact.rfind(",") else ","
        grp = "," if dec == "." else "."
        int_part, _, frac = compact.rpartition(dec)
        if dec in int_part or not _groups_ok(int_part, grp):
            return f"'{core}' mixes separators inconsistently"
        return _to_decimal(int_part.replace(grp, ""), frac)
    sep = "." if dots else "," if commas else ""
    if not sep:
        return _to_decimal(compact, "")
    count = dots or commas
    int_part, _, frac = compact.rpartition(sep)
    if count > 1:
        if not _groups_ok(compact, sep):
            return f"'{core}' repeats '{sep}' but is not digit grouping"
        return _to_decimal(compact.replace(sep, ""), "")
    if len(frac) != 3 or int_part in ("0", ""):
        return _to_decimal(int_part, frac)
    # A single separator followed by exactly three digits: grouping or decimals?
    symbols = number_symbols(locale)
    if symbols is not None:
        decimal_symbol = symbols[0]
        if sep == decimal_symbol:
            return _to_decimal(int_part, frac)
        notes.append(f"'{sep}' read as a thousands separator (locale {locale})")
        return _to_decimal(int_part + frac, "")
    if money and currency is not None and currency_precision(currency) < 3:
        notes.append(
            f"'{sep}' read as a thousands separator: {currency} has {currency_precision(currency)} decimals"
        )
        return _to_decimal(int_part + frac, "")
    return f"ambiguous amount '{core}': '{sep}' may be a thousands or a decimal separator (no locale known)"


def _to_decimal(int_part: str, frac: str) -> Decimal | str:
    if not int_part and not frac:
        return "no digits"
    if len(int_part.lstrip("0")) > MAX_DIGITS:
        return f"more than {MAX_DIGITS} integer digits"
    try:
        return Decimal(f"{int_part or '0'}.{frac}" if frac else int_part)
    except InvalidOperation:
        return "not a number"


def _affixes(
    prefix: str, suffix: str, hint: str | None, money: bool, notes: list[str]
) -> tuple[int, str | None] | str:
    """Signs and currency around the number -> (sign, currency) or an error string."""
    sign_marks = 0
    text = f"{prefix} {suffix}"
    open_paren, close_paren = prefix.count("("), suffix.count(")")
    if open_paren or close_paren:
        if open_paren != 1 or close_paren != 1:
            return "unbalanced parentheses around the amount"
        sign_marks += 1
        notes.append("parentheses read as a negative amount")
    minus = text.count("-")
    if minus > 1:
        return "more than one minus sign"
    if minus:
        sign_marks += 1
        if suffix.count("-"):
            notes.append("trailing minus read as a negative amount")
    words = _SIGN_WORDS.findall(text)
    credit = [w for w in words if w.lower() in ("cr", "credit")]
    if credit:
        sign_marks += 1
        notes.append(f"'{credit[0]}' read as a credit (negative amount)")
    if sign_marks > 1:
        return "conflicting negative markers (e.g. minus and parentheses)"
    residue = _SIGN_WORDS.sub(" ", text)
    residue = re.sub(r"[()\-+:=]", " ", residue)
    currencies: set[str] = set()
    for token in residue.split():
        token = token.strip()
        if not token:
            continue
        res = resolve_symbol(token, hint)
        if res.valid and res.code:
            currencies.add(res.code)
            notes.extend(res.notes)
            continue
        if not money and _UNIT_WORDS.match(token):
            notes.append(f"unit '{token}' ignored")
            continue
        if token in ("$", "¥", "kr", "kr."):
            notes.extend(res.notes)
            continue
        return f"unexpected text '{token[:20]}' around the number"
    if len(currencies) > 1:
        return f"mixed currencies in one amount: {', '.join(sorted(currencies))}"
    if currencies and not money:
        return "a quantity cannot carry a currency"
    return (-1 if sign_marks else 1), (currencies.pop() if currencies else None)


@lru_cache(maxsize=65536)
def parse_amount(
    raw: str | None, locale: str | None = None, currency_hint: str | None = None, money: bool = True
) -> AmountResult:
    """Parse one amount (money=True) or quantity (money=False). Pure, cached, never raises."""
    if raw is None or not raw.strip():
        return _bad("no amount given")
    plain = _PLAIN.match(raw.strip())
    if plain is not None:
        fast = _plain(plain, currency_hint, money)
        if fast is not None:
            return fast
    grouped = _GROUPED.match(raw.strip()) if plain is None else None
    if grouped is not None and grouped.group(3) != grouped.group(4):
        fast = _grouped(grouped, currency_hint, money)
        if fast is not None:
            return fast
    return _parse_general(raw, locale, currency_hint, money)


def _parse_general(raw: str, locale: str | None, currency_hint: str | None, money: bool) -> AmountResult:
    """Every shape of amount; the fast paths above must agree with it (property-tested)."""
    if len(raw) > 64:
        return _bad("amount text longer than 64 characters")
    text = " ".join(raw.translate(_SPACES).translate(_MINUS).split())
    cores = list(_CORE.finditer(text))
    if not cores:
        return _bad(f"'{text[:30]}' contains no number")
    if len(cores) > 1:
        return _bad(f"'{text[:30]}' contains more than one number")
    core = cores[0]
    notes: list[str] = []
    affixes = _affixes(text[: core.start()], text[core.end() :], currency_hint, money, notes)
    if isinstance(affixes, str):
        return _bad(affixes)
    sign, currency = affixes
    value = _parse_core(core.group(0).strip(), locale, currency or currency_hint, money, notes)
    if isinstance(value, str):
        return _bad(value)
    if value is None:
        return _bad("not a number")
    value = -value if sign < 0 else value
    if money:
        precision = currency_precision(currency or currency_hint)
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > precision:
            notes.append(f"{-exponent} decimals, more than the currency's {precision}")
        elif isinstance(exponent, int) and -exponent < precision:
            value = value.quantize(Decimal(1).scaleb(-precision))
    if currency and currency_hint and currency != currency_hint:
        notes.append(f"amount in {currency} while the document currency is {currency_hint}")
    return AmountResult(value, currency, tuple(notes), True)


def _plain(m: re.Match[str], currency_hint: str | None, money: bool) -> AmountResult | None:
    sign, whole, frac = m.groups("")
    if money:
        precision = currency_precision(currency_hint) if currency_hint else 2
        if len(frac) > precision:
            return None  # the general path notes the extra decimals
        frac = frac.ljust(precision, "0")
    value = Decimal(f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}")
    return AmountResult(abs(value) if value.is_zero() else value, None, (), True)  # no "-0"


def _grouped(m: re.Match[str], currency_hint: str | None, money: bool) -> AmountResult | None:
    frac = m.group(5)
    if money:
        precision = currency_precision(currency_hint)
        if len(frac) > precision:
            return None
        frac = frac.ljust(precision, "0")
    whole = m.group(2).replace(m.group(3), "")
    value = Decimal(f"{m.group(1)}{whole}.{frac}" if frac else f"{m.group(1)}{whole}")
    return AmountResult(abs(value) if value.is_zero() else value, None, (), True)


def parse_quantity(raw: str | None, locale: str | None = None) -> AmountResult:
    return parse_amount(raw, locale, None, False)
