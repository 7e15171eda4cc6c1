"""Tax ids and bank accounts carry real check digits: python-stdnum accepts every one."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from stdnum import iban as std_iban
from stdnum.de import vat as de_vat
from stdnum.es import nif as es_nif
from stdnum.fr import tva as fr_tva
from stdnum.gb import vat as gb_vat
from stdnum.nl import btw as nl_btw
from stdnum.us import ein as us_ein
from stdnum.us import rtn as us_rtn

from pipeline.samples import ids

VALIDATORS = {"DE": de_vat, "FR": fr_tva, "NL": nl_btw, "ES": es_nif, "GB": gb_vat, "US": us_ein}


@pytest.mark.parametrize("country", sorted(VALIDATORS))
def test_tax_ids_validate_with_stdnum(country: str) -> None:
    rng = random.Random(country)
    for _ in range(300):
        value = ids.tax_id(country, rng)
        assert VALIDATORS[country].is_valid(value), value


@pytest.mark.parametrize("country", ["DE", "FR", "NL", "ES", "GB"])
def test_ibans_validate_with_stdnum_including_national_checks(country: str) -> None:
    rng = random.Random(country)
    for _ in range(300):
        value = ids.iban(country, rng)
        assert value.startswith(country)
        assert std_iban.is_valid(value), value
        assert std_iban.is_valid(ids.format_iban(value))


def test_wrong_check_digit_is_rejected() -> None:
    """Guards against a validator that accepts anything: flipping a digit must fail."""
    rng = random.Random(3)
    value = ids.iban("DE", rng)
    flipped = value[:-1] + str((int(value[-1]) + 1) % 10)
    assert not std_iban.is_valid(flipped)
    vat = ids.tax_id("DE", rng)
    assert not de_vat.is_valid(vat[:-1] + str((int(vat[-1]) + 1) % 10))


def test_aba_routing_numbers_validate() -> None:
    rng = random.Random(5)
    assert all(us_rtn.is_valid(ids.aba_routing(rng)) for _ in range(200))


def test_vendor_master_ids_are_valid(invoice_set: Path) -> None:
    with (invoice_set / "refdata" / "vendors.csv").open(encoding="utf-8") as fh:
        vendors = list(csv.DictReader(fh))
    assert {v["country"] for v in vendors} == set(VALIDATORS)
    for v in vendors:
        assert VALIDATORS[v["country"]].is_valid(v["tax_id"]), v
        if v["country"] == "US":
            assert v["iban"] == ""
        else:
            assert std_iban.is_valid(v["iban"]), v
