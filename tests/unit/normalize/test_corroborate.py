"""Independent evidence for low-confidence currency and tax values, and what the gate does with it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.contracts import DocKind, Extraction, Outcome
from pipeline.gate.policy import load_policy
from pipeline.normalize.config import NormalizeConfig
from pipeline.normalize.corroborate import currency_evidence, tax_evidence
from pipeline.normalize.document import normalize_extraction
from pipeline.normalize.locales import locale_territory
from tests.unit.gate.helpers import failed, reason, run_gate
from tests.unit.normalize.factories import acme_invoice, extraction, ref

MY = NormalizeConfig(default_locale="en_MY")


def test_country_of_locale() -> None:
    assert locale_territory("en_MY") == "MY" and locale_territory("de-DE") == "DE"
    assert locale_territory("de") is None and locale_territory(None) is None


def test_currency_evidence_sources() -> None:
    assert currency_evidence("MYR", "RM", vendor_currency=None, locale="en_MY", amount_currencies=set()) == [
        "currency of locale en_MY"
    ]
    assert currency_evidence("EUR", "EUR", vendor_currency="EUR", locale=None, amount_currencies={"EUR"}) == [
        "vendor master currency",
        "currency symbol on the amounts",
    ]
    # '$' says CAD only because the vendor is Canadian: the vendor master cannot vouch for itself
    assert currency_evidence("CAD", "$", vendor_currency="CAD", locale="en_CA", amount_currencies=set()) == []
    assert currency_evidence("USD", "USD", vendor_currency="EUR", locale="de_DE", amount_currencies={"EUR"}) == []


@pytest.mark.parametrize(
    ("tax", "total", "subtotal", "country", "expected"),
    [
        ("0.90", "15.90", None, "MY", ["6% tax included in the total"]),
        ("0.91", "15.90", None, "MY", ["6% tax included in the total"]),  # one cent of rounding
        ("62.70", "392.70", "330.00", "DE", ["19% tax included in the total", "19% of the subtotal"]),
        ("1.50", "15.90", None, "MY", []),  # not a legal rate of the total
        ("0.00", "15.90", None, "MY", []),  # zero tax proves nothing
        ("0.90", "15.90", None, "US", []),  # no rate table: no evidence
        ("0.90", "15.90", None, None, []),
        ("15.90", "15.90", None, "MY", []),
    ],
)
def test_tax_evidence(tax: str, total: str, subtotal: str | None, country: str | None, expected: list[str]) -> None:
    got = tax_evidence(Decimal(tax), Decimal(total), Decimal(subtotal) if subtotal else None, country)
    assert got == expected


def _receipt(tax: str = "0.90") -> Extraction:
    """A confident receipt whose currency and tax the model read with confidence 0.4."""
    ex = extraction(DocKind.receipt, merchant="Corner Shop", date="2026-11-20", total="RM 15.90")
    low = extraction(DocKind.receipt, confidence=0.4, currency="RM", tax=tax)
    ex.fields.update(low.fields)
    return ex


def test_normalization_records_the_evidence() -> None:
    doc = normalize_extraction(_receipt(), ref(), MY)
    assert doc.fields["currency"].corroborated_by == ["currency of locale en_MY", "currency symbol on the amounts"]
    assert doc.fields["tax"].corroborated_by == ["6% tax included in the total"]
    assert doc.fields["total"].corroborated_by == []
    assert doc.fields["currency"].confidence == 0.4  # the model's confidence is kept as read


def test_gate_accepts_corroborated_currency_and_tax_and_says_so() -> None:
    d = run_gate(_receipt(), config=MY)
    r = reason(d, "fields.confidence")
    assert r.passed and "corroborated" in r.message
    assert set(r.details["corroborated"]) == {"currency", "tax"}
    assert d.outcome == Outcome.auto_approved


def test_uncorroborated_tax_still_stops() -> None:
    r = reason(run_gate(_receipt(tax="1.50"), config=MY), "fields.confidence")
    assert not r.passed and r.fields == ["tax"]


def test_policy_without_acceptance_ignores_evidence() -> None:
    strict = load_policy().with_params("fields.confidence", accept_corroborated=[])
    assert failed(run_gate(_receipt(), config=MY, policy=strict)) >= {"fields.confidence"}


def test_evidence_never_rescues_an_ungrounded_value() -> None:
    ex = _receipt()
    ex.fields["tax"].grounded = False
    r = reason(run_gate(ex, config=MY), "fields.confidence")
    assert not r.passed and "tax" in r.fields


def test_only_listed_fields_are_vouched_for() -> None:
    ex = acme_invoice()
    ex.fields["subtotal"].confidence = 0.5  # 330 x 19 % = 62.70 vouches for the tax, not the subtotal
    ex.fields["tax"].confidence = 0.5
    r = reason(run_gate(ex), "fields.confidence")
    assert not r.passed and r.fields == ["subtotal"]
