"""The one place that turns a reviewed document into outgoing payloads.

`build_approved` is the ERP contract's producer for both straight-through (approvals=[system]) and
human approvals; `build_rejection` and `build_feedback` build the other two outgoing payloads. All are
pure: the same inputs give the same payload, which keeps republished outbox events identical.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from pipeline.contracts import (
    Approval,
    ApprovedDocument,
    Correction,
    Decision,
    DocKind,
    Feedback,
    NormalizedDocument,
    Rejection,
    RuleResult,
    Severity,
    Versions,
)

# Header field that names the counterparty / carries the document date, per kind.
VENDOR_FIELD = {DocKind.invoice: "vendor", DocKind.receipt: "merchant"}
DATE_FIELD = {DocKind.invoice: "invoice_date", DocKind.receipt: "date"}


class PayloadError(ValueError):
    """A value cannot go into the ERP payload (names the field, never its content)."""


def effective_fields(
    doc: NormalizedDocument, corrections: Mapping[str, Correction] | Sequence[Correction]
) -> dict[str, str | None]:
    """Normalized header values with reviewer corrections applied (the values a person approved)."""
    fields: dict[str, str | None] = {name: f.value for name, f in doc.fields.items()}
    items = corrections.values() if isinstance(corrections, Mapping) else corrections
    for c in items:
        fields[c.field] = c.after
    return fields


def _date(fields: Mapping[str, str | None], name: str | None) -> date | None:
    value = fields.get(name) if name else None
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PayloadError(f"field {name!r} is not an ISO date") from None


def _amount(fields: Mapping[str, str | None], name: str) -> Decimal | None:
    value = fields.get(name)
    if value is None or value == "":
        return None
    try:
        out = Decimal(value)
    except InvalidOperation:
        raise PayloadError(f"field {name!r} is not a decimal amount") from None
    if not out.is_finite():
        raise PayloadError(f"field {name!r} is not a finite amount")
    return out


def build_approved(
    doc: NormalizedDocument,
    decision: Decision,
    approvals: Sequence[Approval],
    corrections: Mapping[str, Correction] | Sequence[Correction] = (),
    document_version: int = 1,
) -> ApprovedDocument:
    """The docs.approved payload. Straight-through when the only approval is the system's."""
    fields = effective_fields(doc, corrections)
    corrected = {c.field for c in (corrections.values() if isinstance(corrections, Mapping) else corrections)}
    vendor_field = VENDOR_FIELD.get(doc.kind)
    vendor = doc.vendor
    if vendor_field and vendor_field in corrected:
        vendor_name = fields.get(vendor_field)
    else:
        vendor_name = (vendor.name if vendor and vendor.name else None) or (
            fields.get(vendor_field) if vendor_field else None
        )
    currency = fields.get("currency") or doc.currency
    if currency is not None and (len(currency) != 3 or not currency.isalpha() or not currency.isupper()):
        raise PayloadError("field 'currency' is not an ISO 4217 code")
    po_number = fields.get("po_number") or (doc.po_change.po_number if doc.po_change else None)
    return ApprovedDocument(
        document_version=document_version,
        kind=doc.kind,
        vendor_id=vendor.vendor_id if vendor else None,
        vendor_name=vendor_name,
        vendor_tax_id=fields.get("vendor_tax_id"),
        invoice_number=fields.get("invoice_number"),
        document_date=_date(fields, DATE_FIELD.get(doc.kind)),
        due_date=_date(fields, "due_date"),
        po_number=po_number,
        currency=currency,
        subtotal=_amount(fields, "subtotal"),
        tax=_amount(fields, "tax"),
        total=_amount(fields, "total"),
        iban=fields.get("iban"),
        buyer=fields.get("buyer"),
        fields=fields,
        line_items=list(doc.line_items),
        po_match=decision.po_match,
        po_change=doc.po_change,
        approvals=list(approvals),
        straight_through=all(a.by == "system" for a in approvals) and not corrected,
        source=doc.blob,
        versions=Versions(
            model=doc.model,
            prompt_set=doc.prompt_set,
            policy=decision.policy,
            normalizer=doc.normalizer_version,
        ),
    )


def failed_rules(decision: Decision) -> list[RuleResult]:
    """Failed rules, most severe first (reject, dual, review, info), keeping the gate's order within."""
    rank = {Severity.reject: 0, Severity.dual: 1, Severity.review: 2, Severity.info: 3}
    failed = [r for r in decision.reasons if not r.passed]
    return sorted(failed, key=lambda r: rank.get(r.severity, 9))


def build_rejection(decision: Decision, *, reason: str, by: str, at: datetime) -> Rejection:
    return Rejection(
        kind=decision.document.kind,
        reason=reason,
        rule_ids=[r.rule_id for r in failed_rules(decision)],
        by=by,
        at=at,
        source=decision.document.blob,
    )


def build_feedback(
    doc: NormalizedDocument, corrections: Sequence[Correction], *, reviewer: str, at: datetime, outcome: str
) -> Feedback:
    return Feedback(
        kind=doc.kind,
        corrections=list(corrections),
        reviewer=reviewer,
        at=at,
        source=doc.blob,
        model=doc.model,
        prompt_set=doc.prompt_set,
        outcome=outcome,  # type: ignore[arg-type]
    )
