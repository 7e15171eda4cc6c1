"""Dual control: when one person may not approve alone (pure function, unit-tested in isolation).

A second approver who is not the first is required when any of these holds:
- the gate's policy asked for two approvals (Decision.required_approvals == 2) or a failed rule has
  severity `dual`;
- approving would override a failed rule of severity `reject`;
- the (corrected) total is above the configured threshold (compared in the document's currency);
- bank details are new or changed: a failed rule concerns the IBAN, or a reviewer edited it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from pipeline.contracts import Correction, Decision, Severity


def dual_control_reasons(
    decision: Decision, corrections: Mapping[str, Correction], threshold: Decimal
) -> list[str]:
    reasons: list[str] = []
    if decision.required_approvals >= 2:
        reasons.append("the policy requires two approvals")
    for rule in decision.reasons:
        if rule.passed:
            continue
        if rule.severity == Severity.dual:
            reasons.append(f"rule {rule.rule_id} needs a second approver")
        elif rule.severity == Severity.reject:
            reasons.append(f"approving overrides failed rule {rule.rule_id}")
    total_raw = (
        corrections["total"].after
        if "total" in corrections
        else (decision.document.fields["total"].value if "total" in decision.document.fields else None)
    )
    try:
        total = Decimal(total_raw) if total_raw else None
    except InvalidOperation:
        total = None
    if total is not None and total > threshold:
        reasons.append(f"total {total} is above the dual-control threshold {threshold}")
    iban_rule = any(not r.passed and "iban" in r.fields for r in decision.reasons)
    if iban_rule or "iban" in corrections:
        reasons.append("bank details are new or changed")
    return reasons
