from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from pipeline.contracts import Approval, ApprovedDocument, Correction
from pipeline.review import demo
from pipeline.review.approval import PayloadError, build_approved, build_feedback, build_rejection
from pipeline.review.dual import dual_control_reasons

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _env(failed: tuple[str, ...] = ("low_confidence",), **inv: str):  # type: ignore[no-untyped-def]
    invoice = demo.DemoInvoice(**inv)
    return demo.decision_envelope(demo.normalized_document(invoice, demo.synthetic_blob(1), {}), list(failed))


def test_straight_through_payload_maps_every_header_field() -> None:
    env = _env()
    doc = env.payload.document
    out = build_approved(doc, env.payload, [Approval(by="system", role="system", at=AT)])
    assert out.straight_through and out.document_version == 1
    assert out.vendor_id == "V-1001" and out.vendor_name == "Acme Office Supplies GmbH"
    assert out.invoice_number == "INV-2026-0042" and out.document_date == date(2026, 11, 2)
    assert (
        out.due_date == date(2026, 12, 2) and out.total == Decimal("999.60") and out.tax == Decimal("159.60")
    )
    assert out.currency == "EUR" and out.iban == "DE89370400440532013000" and out.po_number == "PO-7781"
    assert out.fields["buyer"] == "Docpipe Manufacturing Ltd" and len(out.line_items) == 2
    assert out.versions.policy == env.payload.policy and out.source == doc.blob
    ApprovedDocument.model_validate_json(out.model_dump_json())  # round-trips through the contract


def test_corrections_win_and_mark_the_payload_as_human_approved() -> None:
    env = _env()
    corr = [
        Correction(field="total", before="999.60", after="1000.60"),
        Correction(field="vendor", before="Acme Office Supplies GmbH", after="ACME Supplies"),
    ]
    out = build_approved(
        env.payload.document, env.payload, [Approval(by="ann", role="reviewer", at=AT)], corr, 2
    )
    assert out.total == Decimal("1000.60") and out.fields["total"] == "1000.60"
    assert out.vendor_name == "ACME Supplies" and not out.straight_through and out.document_version == 2


def test_unparsable_values_are_refused_naming_the_field_only() -> None:
    env = _env(invoice_date="02/11/2026 <b>")
    with pytest.raises(PayloadError, match="invoice_date") as err:
        build_approved(env.payload.document, env.payload, [])
    assert "<b>" not in str(err.value)


def test_rejection_and_feedback_payloads() -> None:
    env = _env(("duplicate_suspect", "low_confidence"))
    rej = build_rejection(env.payload, reason="duplicate", by="ann", at=AT)
    assert rej.rule_ids == ["duplicate_suspect", "low_confidence"] and rej.source == env.payload.document.blob
    fb = build_feedback(
        env.payload.document,
        [Correction(field="total", before="1", after="2")],
        reviewer="ann",
        at=AT,
        outcome="approved",
    )
    assert fb.corrections[0].after == "2" and fb.model == env.payload.document.model


@pytest.mark.parametrize(
    ("failed", "total", "corrections", "expect"),
    [
        (("low_confidence",), "999.60", {}, []),
        (("low_confidence",), "10000.01", {}, ["above the dual-control threshold"]),
        (("low_confidence",), "999.60", {"total": "20000.00"}, ["above the dual-control threshold"]),
        (("iban_changed",), "999.60", {}, ["rule iban_changed", "bank details"]),
        (("low_confidence",), "999.60", {"iban": "DE02120300000000202051"}, ["bank details"]),
        (("duplicate_suspect",), "999.60", {}, ["overrides failed rule duplicate_suspect"]),
    ],
)
def test_dual_control_reasons(
    failed: tuple[str, ...], total: str, corrections: dict[str, str], expect: list[str]
) -> None:
    env = _env(failed, total=total)
    corr = {k: Correction(field=k, before=None, after=v) for k, v in corrections.items()}
    reasons = dual_control_reasons(env.payload, corr, Decimal("10000"))
    assert len(reasons) == len(expect)
    for fragment, reason in zip(expect, reasons, strict=True):
        assert fragment in reason


def test_policy_required_approvals_forces_dual_control() -> None:
    env = _env()
    env.payload.required_approvals = 2
    assert dual_control_reasons(env.payload, {}, Decimal("10000")) == ["the policy requires two approvals"]
