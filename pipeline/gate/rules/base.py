"""What a rule is: a small named unit with an id, a plain-language description, a default severity,
default parameters (overridden by the policy file) and a pure check over the gate context."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.contracts import DocKind, Severity
from pipeline.gate.context import GateContext

Params = Mapping[str, Any]


@dataclass(frozen=True)
class Check:
    passed: bool
    message: str
    fields: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    severity: Severity
    check: Callable[[GateContext, Params], Check]
    kinds: frozenset[DocKind] = frozenset({DocKind.invoice, DocKind.receipt})
    defaults: Mapping[str, Any] = field(default_factory=dict)


def not_applicable(why: str) -> Check:
    return Check(True, f"Not applicable: {why}.")
