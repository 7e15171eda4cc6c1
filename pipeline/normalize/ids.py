"""Tax ids and IBANs, validated with python-stdnum checksums; the canonical value is the compact form."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, NamedTuple

from stdnum import iban as stdnum_iban
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)
from stdnum.util import get_cc_module

_LABEL = re.compile(
    r"^(?:vat|ust-?id(?:nr)?|tva|btw|gst|tax\s*id|tin|ein|abn|iban|uid)\s*(?:no\.?|number|nr\.?)?"
    r"\s*[:.#]?\s*",
    re.IGNORECASE,
)
# Per-country kinds tried in order when the id carries no EU country prefix.
_KINDS = ("vat", "gst", "tin", "ein", "abn", "uen")


class IdResult(NamedTuple):
    value: str | None
    notes: tuple[str, ...]
    valid: bool
    country: str | None = None


def _reason(exc: ValidationError) -> str:
    if isinstance(exc, InvalidChecksum):
        return "check digit is wrong"
    if isinstance(exc, InvalidLength):
        return "wrong length"
    if isinstance(exc, InvalidFormat):
        return "wrong format"
    if isinstance(exc, InvalidComponent):
        return "a component is out of range"
    return "not valid"


@lru_cache(maxsize=256)
def _country_modules(country: str) -> tuple[Any, ...]:
    found: list[Any] = []  # stdnum validator modules
    for kind in _KINDS:
        try:
            mod = get_cc_module(country.lower(), kind)
        except Exception:  # stdnum raises on odd country codes; treat as "no validator"
            mod = None
        if mod is not None and mod not in found:
            found.append(mod)
    return tuple(found)


def _clean(raw: str) -> str:
    return _LABEL.sub("", " ".join(raw.split())).strip(" .:;")


@lru_cache(maxsize=16384)
def normalize_tax_id(raw: str | None, country: str | None = None) -> IdResult:
    """Validate a VAT/tax id: EU-prefixed ids by their own country, others by the vendor's country."""
    if raw is None or not raw.strip():
        return IdResult(None, ("no tax id given",), False)
    text = _clean(raw)
    if not text or len(text) > 40:
        return IdResult(None, ("tax id is empty or longer than 40 characters",), False)
    prefix = text[:2].upper()
    if prefix.isalpha() and (prefix.lower() in eu_vat.MEMBER_STATES or prefix in ("EL", "XI")):
        try:
            value = eu_vat.validate(text)
            return IdResult(value, (), True, prefix)
        except ValidationError as exc:
            return IdResult(None, (f"{prefix} VAT number {_reason(exc)}",), False, prefix)
    cc = (country or "").strip().upper()
    if not cc and prefix.isalpha() and _country_modules(prefix):
        cc = prefix  # a non-EU id carrying its country prefix (GB, CH, NO ...)
    if len(cc) != 2 or not cc.isalpha():
        compact = re.sub(r"[\s.\-/]", "", text).upper()
        return IdResult(compact, ("no country known: format and checksum not verified",), True)
    modules = _country_modules(cc)
    if not modules:
        compact = re.sub(r"[\s.\-/]", "", text).upper()
        return IdResult(compact, (f"no checksum validator for country {cc}: not verified",), True, cc)
    errors: list[str] = []
    for mod in modules:
        try:
            value = mod.validate(text)
            return IdResult(str(value), (), True, cc)
        except ValidationError as exc:
            errors.append(f"{mod.__name__.removeprefix('stdnum.')}: {_reason(exc)}")
        except Exception:  # a validator choking on odd input is a failed validation, not a crash
            errors.append(f"{mod.__name__.removeprefix('stdnum.')}: not valid")
    return IdResult(None, (f"tax id not valid for {cc} ({'; '.join(errors)})",), False, cc)


@lru_cache(maxsize=16384)
def normalize_iban(raw: str | None) -> IdResult:
    """Validate an IBAN (country format and mod-97 check digits); canonical value is compact upper-case."""
    if raw is None or not raw.strip():
        return IdResult(None, ("no IBAN given",), False)
    text = _clean(raw)
    if not text or len(text) > 50:
        return IdResult(None, ("IBAN is empty or longer than 50 characters",), False)
    try:
        value = stdnum_iban.validate(text)
        return IdResult(value, (), True, value[:2])
    except ValidationError as exc:
        return IdResult(None, (f"IBAN {_reason(exc)}",), False)
    except Exception:
        return IdResult(None, ("IBAN not valid",), False)


def compact_key(raw: str | None) -> str | None:
    """Lookup key for exact matching against the vendor master: separators dropped, upper-case."""
    if not raw:
        return None
    key = re.sub(r"[^0-9A-Za-z]", "", _clean(raw)).upper()
    return key or None
