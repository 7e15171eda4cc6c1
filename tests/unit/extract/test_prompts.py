from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pipeline.contracts import DocKind
from pipeline.extract.prompts import (
    PROMPTS_DIR,
    PromptError,
    available,
    for_kind,
    load_prompt_set,
    parse_prompt_set,
)

SHARED = {
    "receipt": ["merchant", "merchant_address", "date", "total", "tax", "currency"],
    "invoice": [
        "vendor",
        "vendor_tax_id",
        "invoice_number",
        "invoice_date",
        "due_date",
        "po_number",
        "currency",
        "subtotal",
        "tax",
        "total",
        "iban",
        "buyer",
    ],
    "po_change": ["po_number", "change_number", "changed_lines"],
}


@pytest.mark.parametrize("name", sorted(SHARED))
def test_prompt_sets_use_shared_field_names_and_hash_the_file_bytes(name: str) -> None:
    ps = load_prompt_set(name)
    assert [f.name for f in ps.fields] == SHARED[name]
    assert ps.checksum == hashlib.sha256(ps.path.read_bytes()).hexdigest()
    assert ps.ref.version == ps.version
    assert all(f.question.endswith("?") and f.normalizer for f in ps.fields)


def test_amount_and_date_answers_are_single_line() -> None:
    for name in ("receipt", "invoice"):
        for f in load_prompt_set(name).fields:
            if f.type in ("amount", "date", "currency"):
                assert f.constraint.max_lines == 1 and f.constraint.kind == f.type


def test_for_kind_and_available() -> None:
    assert for_kind(DocKind.invoice).name == "invoice"
    assert available()["receipt"] == ["1", "2", "3"]
    with pytest.raises(PromptError):
        for_kind(DocKind.unknown)
    with pytest.raises(PromptError, match="no version"):
        load_prompt_set("receipt", "99")


def test_any_byte_change_changes_the_checksum() -> None:
    path = PROMPTS_DIR / "receipt.v1.yaml"
    data = path.read_bytes()
    a = parse_prompt_set(data, path)
    b = parse_prompt_set(data + b"\n# comment\n", path)
    assert a.checksum != b.checksum and a.fields == b.fields


@pytest.mark.parametrize(
    "content, match",
    [
        (b"name: receipt\nversion: '2'\nkind: receipt\nfields: []\n", "disagree"),
        (b"name: receipt\nversion: '1'\nkind: receipt\nfields: []\n", "non-empty"),
        (b"[unclosed", "YAML"),
        (
            b"name: receipt\nversion: '1'\nkind: receipt\nfields:\n - {name: x, question: 'x?', type: blob, "
            b"required: true, normalizer: n, constraint: {kind: text}}\n",
            "unknown type",
        ),
        (
            b"name: receipt\nversion: '1'\nkind: receipt\nfields:\n - {name: x, question: 'tell me', "
            b"type: text, required: true, normalizer: n, constraint: {kind: text}}\n",
            "question",
        ),
    ],
)
def test_malformed_prompt_files_are_rejected(content: bytes, match: str) -> None:
    with pytest.raises(PromptError, match=match):
        parse_prompt_set(content, Path("receipt.v1.yaml"))


def test_file_name_pattern_enforced() -> None:
    with pytest.raises(PromptError, match="named"):
        parse_prompt_set(b"", Path("receipt.yaml"))


def test_receipt_v2_scopes_names_to_the_header_and_aligns_them_to_lines() -> None:
    v1, v2 = load_prompt_set("receipt", "1"), load_prompt_set("receipt", "2")
    for name in ("merchant", "merchant_address"):
        assert v1.field(name).constraint.scope_lines is None and v1.field(name).constraint.align == "none"
        assert v2.field(name).constraint.scope_lines == 14
        assert v2.field(name).constraint.align == "line_start"
    assert [f.question for f in v1.fields] == [f.question for f in v2.fields]  # same questions, same model


def test_receipt_v3_ends_the_address_at_a_line_end() -> None:
    v2, v3 = load_prompt_set("receipt", "2"), load_prompt_set("receipt", "3")
    assert load_prompt_set("receipt").version == "3"  # the latest version is the one served
    assert v3.field("merchant_address").constraint.align == "line"
    assert v3.field("merchant").constraint == v2.field("merchant").constraint
    assert [f.question for f in v2.fields] == [f.question for f in v3.fields]  # same questions, same model


@pytest.mark.parametrize(
    ("constraint", "match"),
    [
        ("{kind: amount, scope_lines: 5}", "text fields only"),
        ("{kind: date, align: line_start}", "text fields only"),
        ("{kind: text, align: middle}", "align must be"),
        ("{kind: date, align: line}", "text fields only"),
    ],
)
def test_scope_and_align_are_validated(constraint: str, match: str) -> None:
    data = (
        "name: receipt\nversion: '9'\nkind: receipt\nfields:\n - {name: x, question: 'x?', type: text, "
        f"required: true, normalizer: n, constraint: {constraint}}}\n"
    ).encode()
    with pytest.raises(PromptError, match=match):
        parse_prompt_set(data, Path("receipt.v9.yaml"))
