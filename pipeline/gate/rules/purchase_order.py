"""PO rules: 2-way match (invoice vs PO), 3-way match (vs goods receipts) and PO change delivery dates."""

from __future__ import annotations

from pipeline.contracts import DocKind, Severity
from pipeline.gate.context import GateContext
from pipeline.gate.rules.base import Check, Params, Rule, not_applicable

INVOICE = frozenset({DocKind.invoice})
PO_CHANGE = frozenset({DocKind.po_change})


def _line_problems(ctx: GateContext, key: str) -> list[str]:
    details = ctx.po_match.details if ctx.po_match else {}
    out = []
    for ln in details.get("lines", []):
        if key == "problems" and ln.get("problems"):
            out.append(f"invoice line {ln['invoice_line']}: {', '.join(ln['problems'])}")
        elif key == "not_received" and ln.get("not_received"):
            out.append(f"invoice line {ln['invoice_line']}: {ln['not_received']}")
    return out


def _two_way(ctx: GateContext, p: Params) -> Check:
    number = ctx.value("po_number")
    if number is None:
        if p.get("require_po", False):
            return Check(False, "No PO number on the invoice, and policy requires one.", ("po_number",))
        return not_applicable("no PO referenced (non-PO invoice)")
    if ctx.po is None:
        return Check(False, f"PO {number} is not in the PO master.", ("po_number",))
    problems: list[str] = []
    m = ctx.doc.vendor
    if ctx.po.vendor_id and m is not None and m.vendor_id and m.vendor_id != ctx.po.vendor_id:
        problems.append(f"PO belongs to vendor {ctx.po.vendor_id}, the invoice to {m.vendor_id}")
    if ctx.po.status.lower() in ("closed", "cancelled"):
        problems.append(f"PO status is {ctx.po.status}")
    if ctx.po.currency and ctx.doc.currency and ctx.po.currency != ctx.doc.currency:
        problems.append(f"PO currency {ctx.po.currency}, invoice currency {ctx.doc.currency}")
    status = ctx.po_match.status if ctx.po_match else "unmatched"
    if status != "matched":
        problems.extend(_line_problems(ctx, "problems") or [f"match status {status}"])
    details = ctx.po_match.model_dump(mode="json") if ctx.po_match else {}
    if problems:
        return Check(
            False,
            f"Invoice does not match PO {ctx.po.po_number}: " + "; ".join(problems) + ".",
            ("po_number", "line_items"),
            details,
        )
    return Check(
        True, f"Invoice matches PO {ctx.po.po_number} within price/quantity tolerance.", details=details
    )


def _three_way(ctx: GateContext, p: Params) -> Check:
    if ctx.value("po_number") is None or ctx.po is None:
        return not_applicable("no PO to match goods receipts against")
    m = ctx.po_match
    if m is None or m.details.get("level") != "line":
        if p.get("require_lines", False):
            return Check(False, "3-way match needs invoice line items.", ("line_items",))
        return not_applicable("no invoice line items to compare with goods receipts")
    missing = _line_problems(ctx, "not_received")
    if missing:
        return Check(
            False,
            "Invoiced more than received: " + "; ".join(missing) + ".",
            ("line_items",),
            {"lines": m.details.get("lines", [])},
        )
    if not m.three_way:
        return Check(False, "3-way match not possible until the 2-way match passes.", ("line_items",))
    return Check(True, f"Every invoiced quantity has been received against PO {ctx.po.po_number}.")


def _po_known(ctx: GateContext, p: Params) -> Check:
    f = ctx.field("po_number")
    if ctx.po is None:
        return Check(
            False, f"PO {f.raw if f else '?'} of this change is not in the PO master.", ("po_number",)
        )
    lines = ctx.field("changed_lines")
    if ctx.doc.po_change is None:
        why = "; ".join(lines.notes) if lines is not None and lines.notes else "no deltas computed"
        return Check(
            False, f"The PO change could not be applied to PO {ctx.po.po_number}: {why}.", ("changed_lines",)
        )
    return Check(
        True,
        f"PO change applies to PO {ctx.po.po_number}: {ctx.doc.po_change.summary}",
        details={"summary": ctx.doc.po_change.summary},
    )


def _delivery(ctx: GateContext, p: Params) -> Check:
    s = ctx.doc.po_change
    if s is None:
        return not_applicable("no PO change deltas")
    late = [d for d in s.deltas if d.change == "date" and d.after and (d.after.get("days") or 0) > 0]
    if late:
        parts = [
            f"line {d.line_no} moves from {d.before.get('need_by_date') if d.before else '?'} to "
            f"{d.after.get('need_by_date') if d.after else '?'} (+{d.after.get('days') if d.after else '?'} "
            "days)"
            for d in late
        ]
        return Check(
            False,
            "Delivery moves past the need-by date: " + "; ".join(parts) + ".",
            ("changed_lines",),
            {"max_lead_time_impact_days": s.max_lead_time_impact_days},
        )
    return Check(True, "No delivery date moves past its need-by date.")


RULES = [
    Rule(
        "po.two_way",
        "Invoice matches its PO (vendor, currency, prices and quantities within tolerance).",
        Severity.review,
        _two_way,
        INVOICE,
        {
            "require_po": False,
            "price_tolerance_pct": "2",
            "quantity_tolerance_pct": "0",
            "amount_tolerance": "1.00",
        },
    ),
    Rule(
        "po.three_way",
        "Invoiced quantities have been received (goods receipts).",
        Severity.review,
        _three_way,
        INVOICE,
        {"require_lines": False},
    ),
    Rule(
        "po_change.po_known",
        "A PO change refers to a known PO and applies cleanly.",
        Severity.review,
        _po_known,
        PO_CHANGE,
    ),
    Rule(
        "po_change.delivery",
        "A PO change does not move delivery past the need-by date.",
        Severity.review,
        _delivery,
        PO_CHANGE,
    ),
]
