"""Currency symbols, codes and names to ISO 4217. '$', '¥' and 'kr' name several currencies: they are
resolved only with a hint (the vendor's or document's currency) and otherwise left open with a note."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from pipeline.normalize.locales import iso_currencies

# Symbols that identify exactly one currency.
UNIQUE_SYMBOLS: dict[str, str] = {
    "€": "EUR",
    "£": "GBP",
    "₹": "INR",
    "RM": "MYR",
    "S$": "SGD",
    "SG$": "SGD",
    "US$": "USD",
    "U$S": "USD",
    "A$": "AUD",
    "AU$": "AUD",
    "C$": "CAD",
    "CA$": "CAD",
    "NZ$": "NZD",
    "HK$": "HKD",
    "R$": "BRL",
    "₩": "KRW",
    "₽": "RUB",
    "₺": "TRY",
    "₪": "ILS",
    "₫": "VND",
    "₱": "PHP",
    "฿": "THB",
    "zł": "PLN",
    "Kč": "CZK",
    "Ft": "HUF",
    "CHF": "CHF",
    "Fr.": "CHF",
    "Rp": "IDR",
    "₴": "UAH",
    "₦": "NGN",
    "RMB": "CNY",
    "MX$": "MXN",
}
# Symbols shared by several currencies: only a hint in this family can settle them.
SHARED_SYMBOLS: dict[str, frozenset[str]] = {
    "$": frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "TWD", "ARS", "CLP", "COP", "BND"}),
    "¥": frozenset({"JPY", "CNY"}),
    "kr": frozenset({"SEK", "NOK", "DKK", "ISK"}),
    "kr.": frozenset({"SEK", "NOK", "DKK", "ISK"}),
    "R": frozenset({"ZAR"}),
}
NAMES: dict[str, str] = {
    "euro": "EUR",
    "euros": "EUR",
    "dollar": "USD",
    "dollars": "USD",
    "us dollar": "USD",
    "us dollars": "USD",
    "pound": "GBP",
    "pounds": "GBP",
    "sterling": "GBP",
    "ringgit": "MYR",
    "yen": "JPY",
    "yuan": "CNY",
    "franc": "CHF",
    "francs": "CHF",
    "rupee": "INR",
    "rupees": "INR",
    "zloty": "PLN",
}

# Longest first so 'US$' wins over '$' and 'RMB' over 'RM'.
SYMBOL_RE = re.compile(
    "|".join(re.escape(s) for s in sorted([*UNIQUE_SYMBOLS, *SHARED_SYMBOLS], key=len, reverse=True))
)
CODE_RE = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")


class CurrencyResult(NamedTuple):
    code: str | None
    notes: tuple[str, ...]
    valid: bool


def resolve_symbol(symbol: str, hint: str | None) -> CurrencyResult:
    """One symbol or code (already isolated) -> ISO code, using `hint` only to settle shared symbols."""
    if symbol in UNIQUE_SYMBOLS:
        return CurrencyResult(UNIQUE_SYMBOLS[symbol], (), True)
    upper = symbol.upper()
    if len(upper) == 3 and upper.isalpha() and upper in iso_currencies():
        return CurrencyResult(upper, (), True)
    family = SHARED_SYMBOLS.get(symbol)
    if family is not None:
        if len(family) == 1:
            return CurrencyResult(next(iter(family)), (), True)
        if hint in family:
            return CurrencyResult(
                hint, (f"symbol '{symbol}' read as {hint} (the document's currency)",), True
            )
        options = "/".join(sorted(family))
        return CurrencyResult(
            None,
            (
                f"symbol '{symbol}' does not identify a currency ({options}...); "
                "no matching document currency",
            ),
            False,
        )
    return CurrencyResult(None, (f"'{symbol}' is not a known currency symbol or ISO 4217 code",), False)


@lru_cache(maxsize=4096)
def normalize_currency(raw: str | None, hint: str | None = None) -> CurrencyResult:
    """A currency field ('EUR', 'eur', '€', 'Euro', 'RM') -> ISO 4217 code. Never raises."""
    if raw is None or not raw.strip():
        return CurrencyResult(None, ("no currency given",), False)
    text = " ".join(raw.split()).strip(" .:")
    if len(text) > 40:
        return CurrencyResult(None, ("currency text longer than 40 characters",), False)
    lowered = text.lower()
    if lowered in NAMES:
        return CurrencyResult(NAMES[lowered], (f"currency name '{text}' read as {NAMES[lowered]}",), True)
    direct = resolve_symbol(text, hint)
    if direct.valid or text in SHARED_SYMBOLS:
        return direct
    codes = {c for c in CODE_RE.findall(text.upper()) if c in iso_currencies()}
    if len(codes) == 1:
        code = codes.pop()
        return CurrencyResult(code, (f"currency code {code} taken from '{text}'",), True)
    if len(codes) > 1:
        return CurrencyResult(
            None, (f"several currency codes in one field: {', '.join(sorted(codes))}",), False
        )
    return CurrencyResult(None, (f"'{text}' is not a known currency",), False)
