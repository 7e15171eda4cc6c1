"""Arithmetic rules: totals add up, line items add up, currency allowed, dual approval threshold."""

from __future__ import annotations

from decimal import Decimal

from pipeline.contracts import DocKind, Severity
from pipeline.gate.context import GateContext
from pipeline.gate.rules.base import Check, Params, Rule, not_applicable


def _money(v: Decimal | None, cur: str | None = None) -> str:
    if v is None:
        return "?"
    return f"{cur + ' ' if cur else ''}{v.quantize(Decimal('0.01')):,}"


def _totals(ctx: GateContext, p: Params) -> Check:
    sub, tax, total = ctx.amount("subtotal"), ctx.amount("tax"), ctx.amount("total")
    if total is None or sub is None:
        return not_applicable("subtotal or total not on the document")
    tol = Decimal(str(p.get("tolerance", "0.02")))
    expected = sub + (tax or Decimal(0))
    diff = abs(expected - total)
    cur = ctx.doc.currency
    detail = {
        "subtotal": str(sub),
        "tax": str(tax) if tax is not None else None,
        "total": str(total),
        "difference": str(diff),
        "tolerance": str(tol),
    }
    if diff > tol:
        return Check(
            False,
            f"Subtotal {_money(sub, cur)} + tax {_money(tax or Decimal(0), cur)} = "
            f"{_money(expected, cur)}, but the total says {_money(total, cur)} "
            f"(off by {_money(diff)}).",
            ("subtotal", "tax", "total"),
            detail,
        )
    return Check(True, f"Subtotal + tax = total ({_money(total, cur)}) within {_money(tol)}.", details=detail)


def _line_items(ctx: GateContext, p: Params) -> Check:
    items = ctx.doc.line_items
    if not items:
        return not_applicable("no line items")
    tol = Decimal(str(p.get("tolerance", "0.05")))
    problems: list[str] = []
    for it in items:
        known = it.quantity is not None and it.unit_price is not None and it.amount is not None
        if known and abs(it.quantity * it.unit_price - it.amount) > tol:  # type: ignore[operator]
            problems.append(f"line {it.line_no}: {it.quantity} x {it.unit_price} is not {it.amount}")
    amounts = [it.amount for it in items if it.amount is not None]
    target_name = "subtotal" if ctx.amount("subtotal") is not None else "total"
    target = ctx.amount(target_name)
    if len(amounts) < len(items):
        problems.append("some line items have no amount")
    elif target is not None:
        total = sum(amounts, Decimal(0))
        if abs(total - target) > tol:
            problems.append(f"line items sum to {_money(total)}, {target_name} is {_money(target)}")
    if problems:
        return Check(
            False,
            "Line items do not add up: " + "; ".join(problems) + ".",
            ("line_items", target_name),
            {"problems": problems},
        )
    return Check(True, f"{len(items)} line item(s) add up to the {target_name}.")


def _currency(ctx: GateContext, p: Params) -> Check:
    allowed = sorted(str(c) for c in p.get("allowed", []))
    cur = ctx.doc.currency
    if cur is None:
        f = ctx.field("currency")
        why = "; ".join(f.notes) if f is not None and f.notes else "no currency found"
        return Check(False, f"Currency unknown: {why}.", ("currency",), {"allowed": allowed})
    if allowed and cur not in allowed:
        return Check(
            False,
            f"Currency {cur} is not allowed by policy (allowed: {', '.join(allowed)}).",
            ("currency",),
            {"allowed": allowed},
        )
    return Check(True, f"Currency {cur} is allowed.", details={"allowed": allowed})


def _dual(ctx: GateContext, p: Params) -> Check:
    total = ctx.amount("total")
    if total is None:
        return not_applicable("no total")
    thresholds = {str(k): Decimal(str(v)) for k, v in (p.get("thresholds") or {}).items()}
    cur = ctx.doc.currency or ""
    limit = thresholds.get(cur, thresholds.get("default"))
    if limit is None:
        return not_applicable(f"no dual-approval threshold for {cur or 'unknown currency'}")
    detail = {"threshold": str(limit), "currency": cur, "total": str(total)}
    if abs(total) > limit:
        return Check(
            False,
            f"Total {_money(abs(total), cur)} is above the dual-approval threshold "
            f"{_money(limit, cur)}: two different people must approve.",
            ("total",),
            detail,
        )
    return Check(
        True,
        f"Total {_money(abs(total), cur)} is within the single-approval limit {_money(limit, cur)}.",
        details=detail,
    )


RULES = [
    Rule(
        "amounts.totals",
        "Subtotal plus tax equals the total, within rounding.",
        Severity.review,
        _totals,
        defaults={"tolerance": "0.02"},
    ),
    Rule(
        "amounts.line_items",
        "Line items multiply out and sum to the subtotal (or total).",
        Severity.review,
        _line_items,
        defaults={"tolerance": "0.05"},
    ),
    Rule(
        "currency.allowed",
        "The document has a single currency that policy allows.",
        Severity.review,
        _currency,
        frozenset({DocKind.invoice, DocKind.receipt, DocKind.po_change}),
        {"allowed": ["EUR", "USD", "GBP"]},
    ),
    Rule(
        "amounts.dual_approval",
        "Totals above the threshold need two approvers.",
        Severity.dual,
        _dual,
        defaults={"thresholds": {"default": "10000.00"}},
    ),
]
