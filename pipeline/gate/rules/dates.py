"""Date rules: the document date lies in the accepted window relative to the injected 'today'."""

from __future__ import annotations

from datetime import timedelta

from pipeline.contracts import Severity
from pipeline.gate.context import GateContext
from pipeline.gate.rules.base import Check, Params, Rule, not_applicable


def _window(ctx: GateContext, p: Params) -> Check:
    d = ctx.doc_date
    if d is None:
        return not_applicable("no valid document date (see fields.required / fields.valid)")
    max_age = int(p.get("max_age_days", 365))
    max_future = int(p.get("max_future_days", 0))
    detail = {
        "date": d.isoformat(),
        "today": ctx.today.isoformat(),
        "max_age_days": max_age,
        "max_future_days": max_future,
    }
    if d > ctx.today + timedelta(days=max_future):
        return Check(False, f"Document date {d} is in the future (today is {ctx.today}).", ("date",), detail)
    age = (ctx.today - d).days
    if age > max_age:
        return Check(
            False,
            f"Document date {d} is {age} days old, older than the {max_age} days policy allows.",
            ("date",),
            detail,
        )
    due = ctx.date_of("due_date")
    if due is not None and due < d:
        return Check(False, f"Due date {due} is before the document date {d}.", ("due_date",), detail)
    return Check(True, f"Document date {d} is within the accepted window ({age} days old).", details=detail)


RULES = [
    Rule(
        "dates.window",
        "The document date is not in the future and not older than the configured age.",
        Severity.review,
        _window,
        defaults={"max_age_days": 365, "max_future_days": 0},
    ),
]
