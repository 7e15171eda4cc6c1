"""Locale formatting: our fast number formatter agrees with babel/CLDR; dates follow each locale's order."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from babel.numbers import format_decimal

from pipeline.samples.locales import LOCALE_TAGS, LOCALES, fmt_amount, fmt_date, fmt_number, printable


@pytest.mark.parametrize("tag", LOCALE_TAGS)
def test_fmt_number_matches_babel(tag: str) -> None:
    spec = LOCALES[tag]
    rng = random.Random(tag)
    for _ in range(400):
        value = Decimal(rng.choice((rng.randint(-(10**8), 10**8), rng.randint(-99_999, 99_999)))) / 100
        expected = printable(format_decimal(value, format="#,##0.00", locale=spec.babel))
        assert fmt_number(value, spec) == expected


def test_required_locales_present() -> None:
    assert {"en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "nl-NL"} <= set(LOCALE_TAGS)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("en-US", "03/04/2024"), ("en-GB", "04/03/2024"), ("de-DE", "04.03.2024"), ("nl-NL", "04-03-2024")],
)
def test_numeric_date_order(tag: str, expected: str) -> None:
    spec = LOCALES[tag]
    assert fmt_date(dt.date(2024, 3, 4), spec, spec.numeric_dates[0]) == expected


def test_amount_styles() -> None:
    de, us, fr = LOCALES["de-DE"], LOCALES["en-US"], LOCALES["fr-FR"]
    assert fmt_amount(Decimal("1234.5"), "EUR", de, "symbol") == "1.234,50 €"
    assert fmt_amount(Decimal("-1234.5"), "USD", us, "parentheses") == "(1,234.50)"
    assert fmt_amount(Decimal("1234.5"), "EUR", fr, "code") == "EUR 1 234,50"
