from datetime import date

import pytest

from pipeline.normalize.dates import parse_date
from pipeline.normalize.locales import date_order


@pytest.mark.parametrize(
    ("raw", "locale", "expected"),
    [
        ("2024-03-05", None, date(2024, 3, 5)),
        ("2016/05/01", None, date(2016, 5, 1)),
        ("03/04/2005", "de_DE", date(2005, 4, 3)),
        ("03/04/2005", "en_US", date(2005, 3, 4)),
        ("15.11.2026", None, date(2026, 11, 15)),
        ("22-04-16", "en_MY", date(2016, 4, 22)),
        ("15 MAY 2018", None, date(2018, 5, 15)),
        ("OCT 3, 2016", None, date(2016, 10, 3)),
        ("01-NOV-2017", None, date(2017, 11, 1)),
        ("20180304", None, date(2018, 3, 4)),
        ("25032018", None, date(2018, 3, 25)),
        ("(06/12/2016)", "en_GB", date(2016, 12, 6)),
        ("Date: 12/05/2018 10:32 AM", "en_GB", date(2018, 5, 12)),
        ("12. März 2024", "de_DE", date(2024, 3, 12)),
        ("2024. 05. 12.", "hu_HU", date(2024, 5, 12)),
        ("5/5/2020", None, date(2020, 5, 5)),
    ],
)
def test_parses_explicit_and_localized_formats(raw: str, locale: str | None, expected: date) -> None:
    res = parse_date(raw, locale)
    assert res.valid and res.value == expected, res


def test_unambiguous_day_wins_over_locale_with_note() -> None:
    res = parse_date("28/02/2016", "en_US")
    assert res.value == date(2016, 2, 28)
    assert any("although the locale en_US writes dates month first" in n for n in res.notes)


def test_locale_reading_notes_the_alternative() -> None:
    res = parse_date("03/04/05", "en_US")
    assert res.value == date(2005, 3, 4)
    assert any("other reading" in n for n in res.notes)
    assert any("two-digit year" in n for n in res.notes)


def test_ambiguous_without_locale_is_flagged_not_guessed() -> None:
    res = parse_date("03/04/05")
    assert not res.valid and res.value is None
    assert "ambiguous" in res.notes[0] and "2005-04-03" in res.notes[0] and "2005-03-04" in res.notes[0]


@pytest.mark.parametrize("raw", ["31/02/2024", "30.02.2023", "2023-13-01", "00/00/0000"])
def test_impossible_dates_are_invalid(raw: str) -> None:
    res = parse_date(raw, "en_GB")
    assert not res.valid and res.value is None
    assert "impossible" in res.notes[0] or "not" in res.notes[0]


@pytest.mark.parametrize("raw", ["yesterday", "today", "2 days ago", "next friday", "gestern"])
def test_relative_words_rejected(raw: str) -> None:
    res = parse_date(raw)
    assert not res.valid and res.value is None
    assert "relative date" in res.notes[0]


@pytest.mark.parametrize("raw", [None, "", "   ", "hello", "12345", "x" * 100, "1/2/3/4"])
def test_garbage_is_invalid_with_note(raw: str | None) -> None:
    res = parse_date(raw)
    assert not res.valid and res.value is None and res.notes


def test_year_out_of_range() -> None:
    assert not parse_date("01/01/1850", "en_GB").valid


def test_date_order_from_cldr() -> None:
    assert date_order("en_US") == "MDY"
    assert date_order("de-DE") == "DMY"
    assert date_order("ja_JP") == "YMD"
    assert date_order("xx_nope") is None
