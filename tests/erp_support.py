"""Shared helpers for the ERP tests: the contract's JSON Schema and a schema-only validator."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from pipeline.contracts import ApprovedDocument, DeadLetter, Envelope, Feedback, Rejection

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"
EXAMPLES = SCHEMAS / "examples"
MODELS = {
    "docs.approved": ApprovedDocument,
    "docs.rejected": Rejection,
    "docs.feedback": Feedback,
    "docs.dlq": DeadLetter,
}


@cache
def schema(topic: str) -> dict[str, Any]:
    """The committed schemas/<topic>.schema.json when present, else generated exactly as the lead does."""
    path = SCHEMAS / f"{topic}.schema.json"
    if path.is_file():
        return json.loads(path.read_text())
    return Envelope[MODELS[topic]].model_json_schema(mode="serialization")  # type: ignore[index]


def validator(topic: str) -> Draft202012Validator:
    """A consumer that knows nothing but the JSON Schema file."""
    return Draft202012Validator(schema(topic), format_checker=FormatChecker())


def schema_errors(topic: str, raw: bytes | str) -> list[str]:
    doc = json.loads(raw)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(topic).iter_errors(doc)]
