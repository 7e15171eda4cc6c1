"""Generate the JSON Schema files in schemas/ from the pydantic models (the contract ERP teams read)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.contracts.envelope import SCHEMA_VERSION, Envelope
from pipeline.topics import CATALOGUE

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"


def topic_schemas() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, spec in CATALOGUE.items():
        if spec.payload is None:
            continue
        schema = Envelope[spec.payload].model_json_schema(mode="serialization")  # type: ignore[name-defined]
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://docpipe.dev/schemas/{name}/{SCHEMA_VERSION}",
            "title": f"{name} event (envelope {SCHEMA_VERSION}, payload {spec.payload.__name__})",
            "description": spec.description,
            **{k: v for k, v in schema.items() if k != "title"},
        }
        out[f"{name}.schema.json"] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas(directory: Path = SCHEMAS_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for fname, schema in topic_schemas().items():
        path = directory / fname
        path.write_text(render(schema))
        written.append(path)
    return written


def drifted(directory: Path = SCHEMAS_DIR) -> list[str]:
    """Names of schema files that differ from (or are missing against) the models."""
    bad = []
    for fname, schema in topic_schemas().items():
        path = directory / fname
        if not path.is_file() or path.read_text() != render(schema):
            bad.append(fname)
    return bad
