"""Property tests: determinism, round-trips, and never raising on arbitrary strings."""

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.normalize.amounts import parse_amount
from pipeline.normalize.currency import normalize_currency
from pipeline.normalize.dates import order_evidence, parse_date
from pipeline.normalize.ids import normalize_iban, normalize_tax_id
from pipeline.normalize.po import normalize_po_number
from pipeline.normalize.vendors import VendorIndex, match_vendor
from tests.unit.normalize.factories import ACME, GLOBEX

LOCALES = st.sampled_from([None, "en_US", "de_DE", "en_GB", "fr_FR", "ja_JP", "en_MY", "bogus"])
TEXT = st.text(max_size=80)
IDX = VendorIndex.build([ACME, GLOBEX])


@settings(max_examples=300, deadline=None)
@given(TEXT, LOCALES)
def test_dates_never_raise_and_are_deterministic(raw: str, locale: str | None) -> None:
    a, b = parse_date(raw, locale), parse_date.__wrapped__(raw, locale)
    assert a == b
    assert order_evidence(raw) in (None, "DMY", "MDY")
    assert parse_date(raw, None, "DMY").valid or parse_date(raw, None, "DMY").notes
    assert (a.value is not None) == a.valid
    assert a.valid or a.notes


@settings(max_examples=300, deadline=None)
@given(TEXT, LOCALES, st.sampled_from([None, "EUR", "USD", "JPY", "MYR"]))
def test_amounts_never_raise_and_are_deterministic(raw: str, locale: str | None, hint: str | None) -> None:
    a, b = parse_amount(raw, locale, hint), parse_amount.__wrapped__(raw, locale, hint)
    assert a == b
    assert (a.value is not None) == a.valid
    if a.value is not None:
        assert isinstance(a.value, Decimal)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_ids_currency_po_vendor_never_raise(raw: str) -> None:
    for res in (
        normalize_tax_id(raw),
        normalize_tax_id(raw, "DE"),
        normalize_iban(raw),
        normalize_currency(raw),
        normalize_po_number(raw),
    ):
        assert res.valid or res.notes
    match_vendor(raw, IDX, tax_id=raw, iban=raw)


@settings(max_examples=300, deadline=None)
@given(
    st.dates(min_value=date(1970, 1, 1), max_value=date(2068, 12, 31)),
    st.sampled_from(
        ["{d:02d}.{m:02d}.{y}", "{d}/{m}/{y}", "{y}-{m:02d}-{d:02d}", "{d:02d}-{m:02d}-{yy:02d}"]
    ),
)
def test_date_round_trip_under_day_first_locale(d: date, fmt: str) -> None:
    raw = fmt.format(d=d.day, m=d.month, y=d.year, yy=d.year % 100)
    assert parse_date(raw, "de_DE").value == d


@settings(max_examples=300, deadline=None)
@given(
    st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"), places=2),
    st.sampled_from(["en_US", "de_DE", "fr_FR", "de_CH"]),
)
def test_amount_round_trip_through_babel_formatting(value: Decimal, locale: str) -> None:
    from babel.numbers import format_decimal

    raw = format_decimal(value, format="#,##0.00", locale=locale)
    assert parse_amount(raw, locale, "EUR").value == value


NUMBERISH = st.text(alphabet="0123456789.,-' ", min_size=1, max_size=16)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(NUMBERISH, st.decimals(min_value=-(10**9), max_value=10**9, places=2).map(str)),
    st.sampled_from([None, "en_US", "de_DE"]),
    st.sampled_from([None, "EUR", "JPY", "KWD"]),
    st.booleans(),
)
def test_fast_paths_agree_with_the_general_parser(
    raw: str, locale: str | None, hint: str | None, money: bool
) -> None:
    from pipeline.normalize.amounts import _parse_general

    fast = parse_amount.__wrapped__(raw, locale, hint, money)
    general = _parse_general(raw, locale, hint, money)
    assert (fast.value, fast.valid) == (general.value, general.valid)
    if fast.value is not None:
        assert str(fast.value) == str(general.value)
