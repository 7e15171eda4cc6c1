"""The rule catalogue, in evaluation (and report) order. Adding a rule = adding a Rule to a module here."""

from __future__ import annotations

from pipeline.gate.rules import amounts, dates, duplicates, fields, purchase_order, vendor
from pipeline.gate.rules.base import Check, Rule

CATALOGUE: tuple[Rule, ...] = (
    *fields.RULES,
    *amounts.RULES[:3],
    *dates.RULES,
    *vendor.RULES,
    *duplicates.RULES,
    *purchase_order.RULES,
    amounts.RULES[3],
)
BY_ID: dict[str, Rule] = {r.id: r for r in CATALOGUE}
assert len(BY_ID) == len(CATALOGUE), "duplicate rule id"

__all__ = ["BY_ID", "CATALOGUE", "Check", "Rule"]
