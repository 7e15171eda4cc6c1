from decimal import Decimal

import pytest

from pipeline.normalize.amounts import parse_amount, parse_quantity
from pipeline.normalize.currency import normalize_currency


@pytest.mark.parametrize(
    ("raw", "locale", "hint", "value", "currency"),
    [
        ("1.234,56", None, None, "1234.56", None),
        ("1,234.56", None, None, "1234.56", None),
        ("(12.00)", None, None, "-12.00", None),
        ("12-", None, None, "-12.00", None),
        ("USD 1 234,56", None, None, "1234.56", "USD"),
        ("RM 12.50", None, "MYR", "12.50", "MYR"),
        ("RM41.45", None, None, "41.45", "MYR"),
        ("€1.234.567,89", None, None, "1234567.89", "EUR"),
        ("1'234.50 CHF", None, None, "1234.50", "CHF"),
        ("12.00 CR", None, None, "-12.00", None),
        ("−5,00 €", "de_DE", None, "-5.00", "EUR"),
        ("1,23,456.00", None, "INR", "123456.00", None),
        ("JPY 1,000", None, None, "1000", "JPY"),
        ("43.7", None, "MYR", "43.70", None),
        ("1,234", "en_US", None, "1234.00", None),
        ("1.234", "de_DE", None, "1234.00", None),
        ("1,234", None, "EUR", "1234.00", None),
        ("$8.20", None, "USD", "8.20", "USD"),
        ("0,5", None, None, "0.50", None),
    ],
)
def test_amount_formats(
    raw: str, locale: str | None, hint: str | None, value: str, currency: str | None
) -> None:
    res = parse_amount(raw, locale, hint)
    assert res.valid, res
    assert res.value == Decimal(value) and res.text == value
    assert res.currency == currency
    assert isinstance(res.value, Decimal)


def test_negative_markers_are_noted() -> None:
    assert "parentheses" in parse_amount("(12.00)").notes[0]
    assert "trailing minus" in parse_amount("12-").notes[0]


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("1,234", "ambiguous amount"),
        ("USD 12 EUR", "mixed currencies"),
        ("abc", "no number"),
        ("12 34", "irregular"),
        ("-(12)", "conflicting negative"),
        ("1.23.4", "not digit grouping"),
        ("12.00 USD 13", "more than one number"),
        ("12 apples", "unexpected text"),
        ("((12))", "unbalanced"),
        ("", "no amount"),
    ],
)
def test_bad_amounts_give_reasons(raw: str, fragment: str) -> None:
    res = parse_amount(raw)
    assert not res.valid and res.value is None
    assert fragment in res.notes[0], res.notes


def test_dollar_sign_is_not_guessed() -> None:
    res = parse_amount("$8.20", None, "MYR")
    assert res.valid and res.value == Decimal("8.20") and res.currency is None
    assert "does not identify a currency" in res.notes[0]


def test_more_decimals_than_currency_is_noted() -> None:
    res = parse_amount("2.1250", None, "EUR")
    assert res.value == Decimal("2.1250") and any("decimals" in n for n in res.notes)


def test_three_digits_after_lone_separator_read_by_currency_with_note() -> None:
    res = parse_amount("2.125", None, "EUR")
    assert res.value == Decimal("2125.00")
    assert "thousands separator" in res.notes[0]


def test_quantity_units_and_no_currency() -> None:
    assert parse_quantity("3 pcs").value == Decimal(3)
    assert not parse_quantity("EUR 3").valid


@pytest.mark.parametrize(
    ("raw", "hint", "code"),
    [
        ("EUR", None, "EUR"),
        ("eur", None, "EUR"),
        ("€", None, "EUR"),
        ("Euro", None, "EUR"),
        ("RM", None, "MYR"),
        ("$", "CAD", "CAD"),
        ("US$", None, "USD"),
        ("Currency: GBP", None, "GBP"),
    ],
)
def test_currency_to_iso(raw: str, hint: str | None, code: str) -> None:
    assert normalize_currency(raw, hint).code == code


@pytest.mark.parametrize("raw", ["$", "XYZ", "EUR/USD", "", "dollars and euros and yen"])
def test_currency_unresolvable(raw: str) -> None:
    res = normalize_currency(raw)
    assert not res.valid and res.code is None and res.notes


@pytest.mark.parametrize("raw", ["-0", "-0.00", "-0,000.00", "(0.00)"])
def test_negative_zero_is_zero(raw: str) -> None:
    assert parse_amount(raw).text in ("0", "0.00")
