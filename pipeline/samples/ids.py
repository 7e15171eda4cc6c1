"""Identifiers with real check digits (VAT ids, IBANs, routing numbers).

Generated documents must carry ids that a validator accepts, otherwise the gate would learn that
every synthetic vendor is suspicious. Check digits are computed here from the published algorithms;
the tests confirm every one with python-stdnum.
"""

from __future__ import annotations

import random
import string

from stdnum import luhn
from stdnum.es import ccc as es_ccc
from stdnum.es import cif as es_cif
from stdnum.iso7064 import mod_11_10, mod_97_10
from stdnum.us import ein as us_ein

_DIGITS = string.digits
_UPPER = string.ascii_uppercase


def _digits(rng: random.Random, n: int, first_nonzero: bool = False) -> str:
    out = "".join(rng.choice(_DIGITS) for _ in range(n))
    if first_nonzero and out[0] == "0":
        out = str(rng.randint(1, 9)) + out[1:]
    return out


def de_vat(rng: random.Random) -> str:
    """DE + 8 digits + ISO 7064 mod 11,10 check digit."""
    body = _digits(rng, 8, first_nonzero=True)
    return "DE" + body + mod_11_10.calc_check_digit(body)


def fr_vat(rng: random.Random) -> str:
    """FR + 2-digit key + SIREN (8 digits + Luhn); key = (12 + 3 * (SIREN mod 97)) mod 97."""
    body = _digits(rng, 8, first_nonzero=True)
    siren = body + luhn.calc_check_digit(body)
    key = (12 + 3 * (int(siren) % 97)) % 97
    return f"FR{key:02d}{siren}"


def nl_vat(rng: random.Random) -> str:
    """NL + RSIN (8 digits + 11-test check digit) + B + 2-digit branch."""
    while True:
        body = _digits(rng, 8, first_nonzero=True)
        total = sum((9 - i) * int(d) for i, d in enumerate(body))
        check = total % 11
        if check < 10:
            return f"NL{body}{check}B{rng.randint(1, 99):02d}"


def es_vat(rng: random.Random) -> str:
    """ES + CIF: company letter, 7 digits, check digit (letter for P/Q/S/W, digit for A/B)."""
    letter = rng.choice("AB")
    body = letter + _digits(rng, 7)
    return "ES" + body + es_cif.calc_check_digits(body)[0]


def gb_vat(rng: random.Random) -> str:
    """GB + 7 digits + 2 check digits such that the weighted sum mod 97 is 0 (old scheme)."""
    body = _digits(rng, 7, first_nonzero=True)
    weights = (8, 7, 6, 5, 4, 3, 2)
    total = sum(w * int(d) for w, d in zip(weights, body, strict=True))
    check = (-total) % 97
    return f"GB{body}{check:02d}"


_EIN_PREFIXES = (
    "10",
    "12",
    "20",
    "26",
    "27",
    "30",
    "32",
    "35",
    "45",
    "46",
    "47",
    "81",
    "82",
    "84",
    "86",
    "88",
)


def us_ein_number(rng: random.Random) -> str:
    """US employer id NN-NNNNNNN with a prefix assigned by the IRS (stdnum checks the campus)."""
    while True:
        candidate = f"{rng.choice(_EIN_PREFIXES)}-{_digits(rng, 7)}"
        if us_ein.is_valid(candidate):
            return candidate


TAX_ID_BY_COUNTRY = {
    "DE": de_vat,
    "FR": fr_vat,
    "NL": nl_vat,
    "ES": es_vat,
    "GB": gb_vat,
    "US": us_ein_number,
}


def tax_id(country: str, rng: random.Random) -> str:
    return TAX_ID_BY_COUNTRY[country](rng)


def _iban_from_bban(country: str, bban: str) -> str:
    check = mod_97_10.calc_check_digits(bban + country)
    return f"{country}{check}{bban}"


def _fr_rib_key(bank: str, branch: str, account: str) -> str:
    """French RIB key over bank (5), branch (5) and account (11, letters mapped to digits)."""
    table = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "12345678912345678923456789")
    num = int((bank + branch + account).translate(table))
    return f"{97 - ((num * 100) % 97):02d}"


def iban(country: str, rng: random.Random) -> str:
    """A structurally valid IBAN for DE/FR/NL/ES/GB (country-internal check digits included)."""
    if country == "DE":
        bban = _digits(rng, 8, first_nonzero=True) + _digits(rng, 10)
    elif country == "FR":
        bank, branch, account = _digits(rng, 5), _digits(rng, 5), _digits(rng, 11)
        bban = bank + branch + account + _fr_rib_key(bank, branch, account)
    elif country == "NL":
        bban = rng.choice(("ABNA", "INGB", "RABO", "TRIO", "SNSB")) + _digits(rng, 10)
    elif country == "ES":
        bank, branch, account = _digits(rng, 4), _digits(rng, 4), _digits(rng, 10)
        bban = bank + branch + es_ccc.calc_check_digits(bank + branch + "00" + account) + account
    elif country == "GB":
        bban = rng.choice(("NWBK", "BARC", "LOYD", "MIDL", "HBUK")) + _digits(rng, 6) + _digits(rng, 8)
    else:
        raise ValueError(f"no IBAN scheme for country {country}")
    return _iban_from_bban(country, bban)


def format_iban(value: str) -> str:
    """Print form: groups of four characters."""
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


def aba_routing(rng: random.Random) -> str:
    """US ABA routing number: 8 digits + check digit (weights 3, 7, 1)."""
    body = f"{rng.choice(('01', '02', '03', '04', '06', '07', '11', '12', '21', '26'))}{_digits(rng, 6)}"
    weights = (3, 7, 1, 3, 7, 1, 3, 7)
    check = (-sum(w * int(d) for w, d in zip(weights, body, strict=True))) % 10
    return body + str(check)


def random_letters(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_UPPER) for _ in range(n))
