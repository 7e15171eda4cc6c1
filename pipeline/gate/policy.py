"""Policy as code: a versioned YAML file switches rules on/off, sets severities and thresholds.

The file's sha256 is recorded in every decision (PolicyRef), so any decision can be traced to the
exact policy text that made it. Unknown rule ids or malformed values are load errors, not surprises.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.contracts import PolicyRef, Severity
from pipeline.gate.rules import BY_ID, CATALOGUE, Rule

DEFAULT_POLICY = Path(__file__).parent / "policies" / "default.v1.yaml"


class PolicyError(ValueError):
    """The policy file is unreadable or inconsistent with the rule catalogue."""


class RuleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    severity: Severity | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str = ""
    rules: dict[str, RuleSettings] = Field(default_factory=dict)


@dataclass(frozen=True)
class ConfiguredRule:
    rule: Rule
    enabled: bool
    severity: Severity
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Policy:
    ref: PolicyRef
    rules: tuple[ConfiguredRule, ...]
    description: str = ""
    source: str = field(default="", repr=False)

    def with_params(self, rule_id: str, **params: Any) -> Policy:
        """A copy with some parameters of one rule replaced (threshold sweeps in `docpipe eval gate`)."""
        rules = tuple(
            ConfiguredRule(r.rule, r.enabled, r.severity, {**r.params, **params})
            if r.rule.id == rule_id
            else r
            for r in self.rules
        )
        return Policy(self.ref, rules, self.description, self.source)

    def only(self, rule_ids: set[str]) -> Policy:
        """A copy with every other rule switched off (evaluation without reference data)."""
        rules = tuple(
            ConfiguredRule(r.rule, r.enabled and r.rule.id in rule_ids, r.severity, r.params)
            for r in self.rules
        )
        return Policy(self.ref, rules, self.description, self.source)

    def params(self, rule_id: str) -> Mapping[str, Any]:
        return next(r.params for r in self.rules if r.rule.id == rule_id)


def parse_policy(text: str, origin: str = "<policy>") -> Policy:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{origin}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{origin}: a policy must be a mapping")
    try:
        pf = PolicyFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first.get("loc", ()))
        raise PolicyError(f"{origin}: {loc}: {first.get('msg')}") from None
    unknown = sorted(set(pf.rules) - set(BY_ID))
    if unknown:
        raise PolicyError(f"{origin}: unknown rule id(s): {', '.join(unknown)}")
    configured = []
    for rule in CATALOGUE:
        s = pf.rules.get(rule.id, RuleSettings())
        unknown_params = sorted(set(s.params) - set(rule.defaults))
        if unknown_params:
            raise PolicyError(f"{origin}: rule {rule.id}: unknown parameter(s) {', '.join(unknown_params)}")
        configured.append(
            ConfiguredRule(rule, s.enabled, s.severity or rule.severity, {**rule.defaults, **s.params})
        )
    checksum = hashlib.sha256(text.encode()).hexdigest()
    return Policy(
        PolicyRef(name=pf.name, version=pf.version, checksum=checksum),
        tuple(configured),
        pf.description,
        text,
    )


def load_policy(path: Path | None = None) -> Policy:
    path = path or DEFAULT_POLICY
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read policy ({exc.strerror or exc.__class__.__name__})") from None
    return parse_policy(text, str(path))
