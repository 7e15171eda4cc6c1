from pathlib import Path

import pytest

from pipeline.contracts import Severity
from pipeline.gate.policy import DEFAULT_POLICY, PolicyError, load_policy, parse_policy
from pipeline.gate.rules import BY_ID


def test_default_policy_loads_every_rule_with_checksum() -> None:
    p = load_policy()
    assert p.ref.version == "1.1" and len(p.ref.checksum) == 64
    assert {r.rule.id for r in p.rules} == set(BY_ID)
    assert p.params("fields.confidence")["default"] == 0.9
    assert next(r for r in p.rules if r.rule.id == "amounts.dual_approval").severity == Severity.dual


def test_checksum_follows_the_text() -> None:
    text = DEFAULT_POLICY.read_text()
    assert parse_policy(text).ref.checksum == load_policy().ref.checksum
    assert parse_policy(text + "\n# comment\n").ref.checksum != load_policy().ref.checksum


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name: x\nversion: '1'\nrules:\n  no.such.rule: {}\n", "unknown rule id"),
        ("name: x\nversion: '1'\nrules:\n  dates.window: {params: {max_age: 3}}\n", "unknown parameter"),
        ("name: x\nversion: '1'\nrules:\n  dates.window: {severity: maybe}\n", "severity"),
        ("name: x\n", "version"),
        ("- a\n- b\n", "mapping"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_policies_are_load_errors(text: str, fragment: str) -> None:
    with pytest.raises(PolicyError, match=fragment):
        parse_policy(text)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "nope.yaml")


def test_with_params_overrides_one_rule() -> None:
    p = load_policy().with_params("fields.confidence", default=0.5)
    assert p.params("fields.confidence")["default"] == 0.5
    assert p.params("fields.confidence")["per_field"]["iban"] == 0.98
