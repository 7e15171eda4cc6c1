import pytest

from pipeline.normalize.ids import normalize_iban, normalize_tax_id
from pipeline.normalize.po import normalize_po_number, po_key
from pipeline.normalize.vendors import VendorIndex, match_vendor, name_key
from tests.unit.normalize.factories import ACME, GLOBEX, INITECH, TWIN_A, TWIN_B


@pytest.mark.parametrize(
    ("raw", "country", "value"),
    [
        ("DE136695976", None, "DE136695976"),
        ("USt-IdNr.: DE 136 695 976", None, "DE136695976"),
        ("FR40303265045", None, "FR40303265045"),
        ("GB980780684", None, "980780684"),
        ("12-3456789", "US", "123456789"),
    ],
)
def test_valid_tax_ids(raw: str, country: str | None, value: str) -> None:
    res = normalize_tax_id(raw, country)
    assert res.valid and res.value == value


@pytest.mark.parametrize(
    ("raw", "country"), [("DE136695977", None), ("GB980780685", None), ("FR4030326504", None)]
)
def test_wrong_checksum_tax_ids_are_invalid_with_reason(raw: str, country: str | None) -> None:
    res = normalize_tax_id(raw, country)
    assert not res.valid and res.value is None
    assert "check digit" in res.notes[0] or "length" in res.notes[0] or "not valid" in res.notes[0]


def test_unverifiable_tax_id_is_kept_with_note() -> None:
    res = normalize_tax_id("201901012345", "MY")
    assert res.valid and res.value == "201901012345" and "not verified" in res.notes[0]


def test_iban() -> None:
    assert normalize_iban("DE89 3704 0044 0532 0130 00").value == "DE89370400440532013000"
    bad = normalize_iban("DE89 3704 0044 0532 0130 01")
    assert not bad.valid and "check digit" in bad.notes[0]
    assert not normalize_iban("").valid


def test_name_key_drops_legal_forms_and_accents() -> None:
    assert name_key("ACME Industrial Supplies GmbH") == name_key("acme industrial supplies")
    assert name_key("Café Zoë S.A.") == "cafe zoe s a" or name_key("Café Zoë SA") == "cafe zoe"


def test_vendor_match_order_tax_id_then_iban_then_name() -> None:
    idx = VendorIndex.build([ACME, GLOBEX, INITECH])
    m = match_vendor("Totally Different Name", idx, tax_id="DE 136695976")
    assert m.vendor_id == "V001" and m.method == "tax_id" and m.score == 100
    m = match_vendor(None, idx, iban="DE89370400440532013000")
    assert m.vendor_id == "V001" and m.method == "iban"
    m = match_vendor("Globex", idx)
    assert m.vendor_id == "V002" and m.method == "exact"
    m = match_vendor("ACME Industrial Suplies", idx)
    assert m.vendor_id == "V001" and m.method == "fuzzy" and 86 <= m.score < 100
    m = match_vendor("Unknown Bakery", idx)
    assert m.vendor_id is None and m.method == "none"


def test_two_master_records_make_an_ambiguous_match() -> None:
    idx = VendorIndex.build([TWIN_A, TWIN_B, ACME])
    m = match_vendor("Northwind Traders", idx)
    assert m.vendor_id is None and m.ambiguous
    assert {c[0] for c in m.candidates} == {"V010", "V011"}
    m = match_vendor("Northwind Trader", idx)
    assert m.vendor_id is None and m.ambiguous and m.method == "fuzzy"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("PO-4500012", "PO-4500012"),
        ("PO 4500012", "PO-4500012"),
        ("po#4500012", "4500012"),
        ("Purchase Order No: 4500012", "4500012"),
        ("4500012", "4500012"),
        ("PO-2024-0001", "PO-2024-0001"),
    ],
)
def test_po_numbers(raw: str, value: str) -> None:
    res = normalize_po_number(raw)
    assert res.valid and res.value == value
    assert po_key(res.value) == po_key(value)


def test_po_key_meets_across_spellings() -> None:
    assert po_key("PO-4500012") == po_key("po 4500012") == po_key("4500012")


def test_bad_po_number_and_custom_patterns() -> None:
    assert not normalize_po_number("see attached").valid
    custom = (r"^(?P<id>ORD\d{5})$",)
    assert normalize_po_number("ORD12345", custom).value == "ORD-12345"
    assert not normalize_po_number("PO-4500012", custom).valid


@pytest.mark.parametrize("name", ["X", "Shop", "Supplies", "Industrial"])
def test_short_or_generic_names_do_not_fuzzy_match(name: str) -> None:
    idx = VendorIndex.build([ACME, GLOBEX, INITECH])
    assert match_vendor(name, idx).vendor_id is None
