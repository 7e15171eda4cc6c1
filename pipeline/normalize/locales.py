"""Locale facts from CLDR (babel), looked up once and cached: lookups are the slow part of parsing."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from babel import Locale, UnknownLocaleError
from babel.dates import get_date_format
from babel.numbers import get_currency_precision, get_decimal_symbol, get_group_symbol, list_currencies

DateOrder = Literal["DMY", "MDY", "YMD"]


@lru_cache(maxsize=512)
def canonical_locale(locale: str | None) -> str | None:
    """'de-DE' / 'de_DE' / 'DE_de' -> 'de_DE'; None when empty or unknown to CLDR."""
    if not locale or not locale.strip():
        return None
    try:
        return str(Locale.parse(locale.strip().replace("-", "_")))
    except (ValueError, TypeError, UnknownLocaleError):
        return None


@lru_cache(maxsize=512)
def date_order(locale: str | None) -> DateOrder | None:
    """Day/month/year order of the locale's short numeric date pattern (en_US 'M/d/yy' -> MDY)."""
    loc = canonical_locale(locale)
    if loc is None:
        return None
    pattern = get_date_format("short", loc).pattern
    positions = {k: pattern.find(k) for k in ("d", "M", "y")}
    if min(positions.values()) < 0:
        return None
    ordered = "".join(sorted(positions, key=lambda k: positions[k]))
    return {"dMy": "DMY", "Mdy": "MDY", "yMd": "YMD"}.get(ordered)  # type: ignore[return-value]


@lru_cache(maxsize=512)
def number_symbols(locale: str | None) -> tuple[str, str] | None:
    """(decimal symbol, group symbol) of the locale, e.g. de_DE -> (',', '.')."""
    loc = canonical_locale(locale)
    if loc is None:
        return None
    return get_decimal_symbol(loc), get_group_symbol(loc)


@lru_cache(maxsize=1)
def iso_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


@lru_cache(maxsize=512)
def currency_precision(code: str | None) -> int:
    """Minor units of an ISO 4217 currency (JPY 0, EUR 2, KWD 3); 2 when unknown."""
    if not code or code not in iso_currencies():
        return 2
    return int(get_currency_precision(code))


@lru_cache(maxsize=512)
def locale_territory(locale: str | None) -> str | None:
    """The ISO country of a locale (en_MY -> MY); None for a bare language."""
    loc = canonical_locale(locale)
    return (Locale.parse(loc).territory or None) if loc is not None else None


@lru_cache(maxsize=512)
def locale_currency(locale: str | None) -> str | None:
    """The currency in use in the locale's territory (de_DE -> EUR, en_MY -> MYR)."""
    territory = locale_territory(locale)
    if not territory:
        return None
    from babel.numbers import get_territory_currencies

    found = get_territory_currencies(territory)
    return found[0] if found else None
