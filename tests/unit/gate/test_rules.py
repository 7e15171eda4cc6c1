from datetime import date
from decimal import Decimal

import pytest

from pipeline.contracts import DocKind, Outcome, Severity
from pipeline.gate.rules import CATALOGUE
from pipeline.refdata.records import DocumentIndexEntry, PORecord
from tests.unit.gate.helpers import POLICY, failed, reason, run_gate
from tests.unit.normalize.factories import (
    ACME,
    GLOBEX,
    INITECH,
    PO_1001,
    TWIN_A,
    TWIN_B,
    acme_invoice,
    extraction,
    ref,
)


def test_clean_invoice_is_auto_approved_with_every_rule_reported() -> None:
    d = run_gate(acme_invoice())
    assert d.outcome == Outcome.auto_approved and d.required_approvals == 0
    assert [r.rule_id for r in d.reasons] == [r.id for r in CATALOGUE]
    assert all(r.passed and r.message for r in d.reasons)
    assert d.policy.name == "default" and len(d.policy.checksum) == 64
    assert d.po_match is not None and d.po_match.status == "matched" and d.po_match.three_way


def test_missing_required_field() -> None:
    d = run_gate(acme_invoice(invoice_number=None))
    r = reason(d, "fields.required")
    assert not r.passed and "invoice_number" in r.message and d.outcome == Outcome.exception


def test_invalid_field_reports_the_note() -> None:
    d = run_gate(acme_invoice(invoice_date="31/02/2026"))
    r = reason(d, "fields.valid")
    assert not r.passed and "invoice_date" in r.message and "impossible" in r.message


def test_low_confidence_field() -> None:
    ex = acme_invoice()
    ex.fields["total"].confidence = 0.5
    r = reason(run_gate(ex), "fields.confidence")
    assert not r.passed and "total 0.50 < 0.90" in r.message and r.fields == ["total"]


def test_ungrounded_value_fails_confidence() -> None:
    ex = acme_invoice()
    ex.fields["invoice_number"].grounded = False
    assert "fields.confidence" in failed(run_gate(ex))


def test_totals_do_not_add_up() -> None:
    r = reason(run_gate(acme_invoice(total="400,00")), "amounts.totals")
    assert not r.passed and "off by" in r.message and r.details["difference"] == "7.30"


def test_totals_within_rounding() -> None:
    assert reason(run_gate(acme_invoice(total="392,71")), "amounts.totals").passed


def test_line_items_sum() -> None:
    ex = acme_invoice()
    ex.line_items[1].amount = "90,00"
    r = reason(run_gate(ex), "amounts.line_items")
    assert not r.passed and "2" in r.message and "sum to" in r.message


@pytest.mark.parametrize(("when", "fragment"), [("15.12.2026", "future"), ("15.11.2024", "days old")])
def test_date_window(when: str, fragment: str) -> None:
    r = reason(run_gate(acme_invoice(invoice_date=when, due_date=None)), "dates.window")
    assert not r.passed and fragment in r.message


def test_today_is_injected() -> None:
    ex = acme_invoice(invoice_date="15.12.2026", due_date=None)
    assert reason(run_gate(ex, today=date(2026, 12, 20)), "dates.window").passed


def test_due_before_document_date() -> None:
    r = reason(run_gate(acme_invoice(due_date="01.11.2026")), "dates.window")
    assert not r.passed and "Due date" in r.message


def test_currency_not_allowed_and_mixed() -> None:
    r = reason(
        run_gate(acme_invoice(currency="JPY", total="392", subtotal="330", tax="62")), "currency.allowed"
    )
    assert not r.passed and "JPY is not allowed" in r.message
    r = reason(run_gate(acme_invoice(total="USD 392.70")), "currency.allowed")
    assert not r.passed and "mixed currencies" in r.message


def test_unknown_and_ambiguous_and_inactive_vendor() -> None:
    unknown = acme_invoice(vendor="Nobody Ltd", vendor_tax_id=None, iban=None)
    assert not reason(run_gate(unknown), "vendor.known").passed
    twins = extraction(
        vendor="Northwind Traders",
        invoice_number="1",
        invoice_date="2026-11-20",
        currency="USD",
        total="10.00",
    )
    r = reason(run_gate(twins, ref(TWIN_A, TWIN_B)), "vendor.known")
    assert not r.passed and "V010" in r.message and "V011" in r.message
    inactive = extraction(
        vendor="Initech Ltd", invoice_number="5", invoice_date="20/11/2026", currency="GBP", total="10.00"
    )
    d = run_gate(inactive, ref(ACME, GLOBEX, INITECH))
    assert not reason(d, "vendor.active").passed and d.outcome == Outcome.rejected


def test_receipts_do_not_need_the_vendor_master() -> None:
    ex = extraction(DocKind.receipt, merchant="Corner Shop", date="2026-11-20", total="RM 9.00")
    d = run_gate(
        ex,
        config=__import__("pipeline.normalize.config", fromlist=["x"]).NormalizeConfig(
            default_locale="en_MY"
        ),
    )
    assert reason(d, "vendor.known").passed and "Not applicable" in reason(d, "vendor.known").message
    assert d.outcome == Outcome.auto_approved


def test_bank_account_differs_from_master_is_always_a_person() -> None:
    d = run_gate(acme_invoice(iban="GB82 WEST 1234 5698 7654 32"))
    r = reason(d, "vendor.bank_account")
    assert not r.passed and "fraud" in r.message and r.severity == Severity.review
    assert d.outcome == Outcome.exception and "GB82…5432" in r.message


def test_invalid_iban_on_document_fails_bank_rule() -> None:
    assert not reason(run_gate(acme_invoice(iban="DE00 1234")), "vendor.bank_account").passed


def test_duplicate_same_number_and_same_amount_date() -> None:
    same_number = DocumentIndexEntry("e" * 64, "V001", "INV-77", Decimal("1.00"), date(2026, 1, 1))
    r = reason(run_gate(acme_invoice(), duplicates=(same_number,)), "duplicates.invoice")
    assert not r.passed and "same invoice number INV-77" in r.message
    same_amount = DocumentIndexEntry("f" * 64, "V001", "OTHER", Decimal("392.70"), date(2026, 11, 15))
    r = reason(run_gate(acme_invoice(), duplicates=(same_amount,)), "duplicates.invoice")
    assert not r.passed and "same amount" in r.message
    itself = DocumentIndexEntry("d" * 64, "V001", "INV-77", Decimal("392.70"), date(2026, 11, 15))
    assert reason(run_gate(acme_invoice(), duplicates=(itself,)), "duplicates.invoice").passed


def test_two_way_price_tolerance_and_unknown_po() -> None:
    ex = acme_invoice(subtotal="340,00", tax="64,60", total="404,60")
    ex.line_items[0].unit_price, ex.line_items[0].amount = "2,60", "260,00"  # +4% > 2% tolerance
    d = run_gate(ex)
    r = reason(d, "po.two_way")
    assert not r.passed and "price 2.60 vs PO 2.50" in r.message and d.po_match.status == "partial"
    r = reason(run_gate(acme_invoice(po_number="PO-9999")), "po.two_way")
    assert not r.passed and "not in the PO master" in r.message


def test_two_way_within_tolerance() -> None:
    ex = acme_invoice(subtotal="332,00", tax="63,08", total="395,08")
    ex.line_items[0].unit_price, ex.line_items[0].amount = "2,52", "252,00"  # +0.8% within 2%
    assert reason(run_gate(ex), "po.two_way").passed


def test_three_way_needs_goods_receipts() -> None:
    partial = PORecord(**{**PO_1001.__dict__, "receipts": PO_1001.receipts[:1]})
    d = run_gate(acme_invoice(), ref(ACME, GLOBEX, pos=(partial,)))
    r = reason(d, "po.three_way")
    assert reason(d, "po.two_way").passed and not r.passed and "received 0" in r.message


def test_dual_approval_above_threshold() -> None:
    ex = acme_invoice(subtotal="10.000,00", tax="1.900,00", total="11.900,00", po_number=None)
    ex.line_items.clear()
    d = run_gate(ex)
    r = reason(d, "amounts.dual_approval")
    assert not r.passed and r.severity == Severity.dual
    assert d.outcome == Outcome.exception and d.required_approvals == 2


def _po_change(need_by: str) -> object:
    return extraction(
        DocKind.po_change,
        structured={
            "document_type": "po_change",
            "po_number": "PO-1001",
            "change_number": "4",
            "vendor_id": "V001",
            "currency": "EUR",
            "issued": "2026-11-10",
            "lines": [{"line_no": 2, "action": "change", "need_by_date": need_by}],
        },
    )


def test_po_change_past_need_by_is_an_exception() -> None:
    d = run_gate(_po_change("2026-12-01"))  # type: ignore[arg-type]
    r = reason(d, "po_change.delivery")
    assert not r.passed and "+11 days" in r.message and d.outcome == Outcome.exception
    assert reason(d, "po_change.po_known").passed


def test_po_change_earlier_delivery_is_approved() -> None:
    d = run_gate(_po_change("2026-11-18"))  # type: ignore[arg-type]
    assert d.outcome == Outcome.auto_approved, [r.message for r in d.reasons if not r.passed]


def test_rule_that_crashes_fails_closed() -> None:
    from pipeline.gate.engine import _run

    def boom(ctx, p):  # type: ignore[no-untyped-def]
        raise ValueError("x")

    check = _run(boom, None, {})  # type: ignore[arg-type]
    assert not check.passed and "could not be evaluated" in check.message


def test_policy_switch_off_reports_rule() -> None:
    from pipeline.gate.policy import parse_policy

    text = POLICY.source.replace(
        "  vendor.bank_account:\n    severity: review", "  vendor.bank_account:\n    enabled: false"
    )
    policy = parse_policy(text)
    d = run_gate(acme_invoice(iban="GB82 WEST 1234 5698 7654 32"), policy=policy)
    r = reason(d, "vendor.bank_account")
    assert r.passed and "Switched off" in r.message and policy.ref.checksum != POLICY.ref.checksum


def test_unknown_document_kind_never_goes_straight_through() -> None:
    d = run_gate(extraction(DocKind.unknown, total="10.00"))
    assert not reason(d, "document.kind").passed and d.outcome == Outcome.exception


def test_low_confidence_line_item_fails_confidence() -> None:
    ex = acme_invoice()
    ex.line_items[1].confidence = 0.4
    r = reason(run_gate(ex), "fields.confidence")
    assert not r.passed and "line_items[2] 0.40 < 0.90" in r.message


def test_quarantined_instructions_send_the_document_to_a_person() -> None:
    """An otherwise perfect invoice with a prompt-injection line is never straight-through."""
    ex = acme_invoice()
    ex.warnings = ["instruction-like text quarantined (page 1, line 12)"]
    d = run_gate(ex)
    r = reason(d, "document.instructions")
    assert not r.passed and "1 line(s)" in r.message and d.outcome == Outcome.exception
    assert d.document.warnings == ex.warnings  # carried through normalization for the reviewer
    assert reason(run_gate(acme_invoice()), "document.instructions").passed
