"""Evaluate a policy over one document: every rule runs (or is reported as switched off), then the
outcome follows from the failed rules' severities. Pure: same context and policy -> same decision."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal

from pipeline.contracts import Decision, NormalizedDocument, Outcome, RuleResult, Severity
from pipeline.gate.context import GateContext
from pipeline.gate.po_match import MatchTolerance, match_po
from pipeline.gate.policy import Policy
from pipeline.gate.rules.base import Check, Params
from pipeline.refdata.records import DocumentIndexEntry, PORecord, VendorRecord


def match_tolerance(policy: Policy) -> MatchTolerance:
    p = policy.params("po.two_way")
    return MatchTolerance(
        price_pct=Decimal(str(p["price_tolerance_pct"])),
        quantity_pct=Decimal(str(p["quantity_tolerance_pct"])),
        amount_abs=Decimal(str(p["amount_tolerance"])),
    )


def build_context(
    doc: NormalizedDocument,
    policy: Policy,
    *,
    today: date,
    document_id: str = "",
    vendor: VendorRecord | None = None,
    po: PORecord | None = None,
    duplicates: tuple[DocumentIndexEntry, ...] = (),
    billed: Mapping[int, Decimal] | None = None,
) -> GateContext:
    """Gather the context, computing the PO match once (rules read it, the decision carries it).

    `billed`: quantity per PO line that earlier invoices already billed (the gate's database)."""
    ctx = GateContext(
        doc=doc, today=today, document_id=document_id, vendor=vendor, po=po, duplicates=duplicates
    )
    if po is not None and doc.kind.value == "invoice":
        sub = ctx.amount("subtotal")
        if sub is None and ctx.amount("total") is not None:
            sub = ctx.amount("total") - (ctx.amount("tax") or Decimal(0))  # type: ignore[operator]
        ctx = GateContext(
            doc=doc,
            today=today,
            document_id=document_id,
            vendor=vendor,
            po=po,
            po_match=match_po(doc, po, sub, match_tolerance(policy), billed),
            duplicates=duplicates,
        )
    return ctx


def _run(check_fn: Callable[[GateContext, Params], Check], ctx: GateContext, params: Params) -> Check:
    try:
        return check_fn(ctx, params)
    except (ArithmeticError, ValueError, TypeError, KeyError) as exc:
        # A rule that cannot evaluate must not approve: fail it with the reason, never crash the stage.
        return Check(False, f"Rule could not be evaluated ({exc.__class__.__name__}); a person must check.")


def decide(ctx: GateContext, policy: Policy) -> Decision:
    reasons: list[RuleResult] = []
    for cr in policy.rules:
        rule = cr.rule
        if not cr.enabled:
            check = Check(True, f"Switched off in policy {policy.ref.name} v{policy.ref.version}.")
        elif ctx.doc.kind not in rule.kinds:
            check = Check(True, f"Not applicable to {ctx.doc.kind.value} documents.")
        else:
            check = _run(rule.check, ctx, cr.params)
        reasons.append(
            RuleResult(
                rule_id=rule.id,
                description=rule.description,
                severity=cr.severity,
                passed=check.passed,
                message=check.message,
                fields=list(check.fields),
                details=check.details,
            )
        )
    failed = {r.severity for r in reasons if not r.passed}
    if Severity.reject in failed:
        outcome, approvals = Outcome.rejected, 0
    elif Severity.review in failed or Severity.dual in failed:
        outcome, approvals = Outcome.exception, 2 if Severity.dual in failed else 1
    else:
        outcome, approvals = Outcome.auto_approved, 0
    return Decision(
        outcome=outcome,
        reasons=reasons,
        policy=policy.ref,
        required_approvals=approvals,
        po_match=ctx.po_match,
        document=ctx.doc,
    )
