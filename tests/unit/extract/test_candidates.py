from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.extract.candidates import line_candidates, parse_amount


@pytest.mark.parametrize(
    "text, value",
    [
        ("9.00", "9.00"),
        ("RM41.45", "41.45"),
        ("1,007.50", "1007.50"),
        ("1.234,56", "1234.56"),
        ("43.7", "43.7"),
        ("-1.73", "-1.73"),
        ("$ 8.20", "8.20"),
        ("1 234,56", "1234.56"),
    ],
)
def test_parse_amount(text: str, value: str) -> None:
    assert parse_amount(text) == Decimal(value)


def test_parse_amount_rejects_non_numbers() -> None:
    assert parse_amount("TOTAL") is None and parse_amount("") is None


def _cands(kind: str, line: str) -> list[str]:
    return [line[s:e] for s, e in line_candidates(kind, line)]


def test_amount_candidates_stay_on_numbers_and_skip_currency_prefix() -> None:
    assert _cands("amount", "TOTAL RM41.45") == ["41.45"]
    assert _cands("amount", "CASH 50.00 CHANGE 0.50") == ["50.00", "0.50"]
    assert _cands("amount", "QTY 1 100.00") == ["1 100.00", "100.00"]  # both readings offered
    assert _cands("amount", "INV NO: CS-SA-0120436") == []


@pytest.mark.parametrize(
    "line, want",
    [
        ("DATE : 27/10/2017", "27/10/2017"),
        ("05 MAR 2018 10:22", "05 MAR 2018"),
        ("2018-04-06", "2018-04-06"),
        ("Date: 25-12-18", "25-12-18"),
        ("OCT 3, 2016", "OCT 3, 2016"),
        ("20180304", "20180304"),
        ("12-Jan-2019", "12-Jan-2019"),
    ],
)
def test_date_candidates(line: str, want: str) -> None:
    assert want in _cands("date", line)


def test_codes_need_a_digit_and_ibans_are_recognised() -> None:
    assert _cands("code", "INVOICE NO INV-2024-0042") == ["INV-2024-0042"]
    assert _cands("iban", "IBAN: DE89 3704 0044 0532 0130 00") == ["DE89 3704 0044 0532 0130 00"]
    assert _cands("currency", "TOTAL RM 9.00") == ["RM"]
    assert _cands("currency", "ROOM 12") == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Rechnungsdatum: 10. September 2026", "10. September 2026"),
        ("Échéance : 14 décembre 2026", "14 décembre 2026"),
        ("Fecha: 5 de octubre de 2026", "5 de octubre de 2026"),
        ("Factuurdatum 3 maart 2026", "3 maart 2026"),
        ("Data 7 gennaio 2026", "7 gennaio 2026"),
    ],
)
def test_dates_with_month_names_of_the_invoice_locales(line: str, expected: str) -> None:
    assert expected in [line[s:e] for s, e in line_candidates("date", line)]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("USt-IdNr. DE 483289389", "DE 483289389"),
        ("VAT Reg No GB 935 6050 26", "GB 935 6050 26"),
        ("TVA FR 25471806323", "FR 25471806323"),
        ("BTW NL123456789B01", "NL123456789B01"),
    ],
)
def test_tax_ids_printed_with_spaces_are_candidates(line: str, expected: str) -> None:
    assert expected in [line[s:e] for s, e in line_candidates("code", line)]
