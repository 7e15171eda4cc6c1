"""The JSON Schemas in schemas/ are generated from the models and must not drift."""

from __future__ import annotations

import json

import jsonschema

from pipeline.contracts.schema_export import SCHEMAS_DIR, drifted, topic_schemas
from pipeline.topics import CATALOGUE, all_specs


def test_schema_files_match_the_models() -> None:
    assert drifted() == [], "run `docpipe schemas generate` and commit schemas/"


def test_every_topic_with_a_payload_has_a_schema() -> None:
    names = {f.removesuffix(".schema.json") for f in topic_schemas()}
    assert names == {n for n, s in CATALOGUE.items() if s.payload is not None}
    for name in names:
        schema = json.loads((SCHEMAS_DIR / f"{name}.schema.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)


def test_catalogue_keys_and_ledgers() -> None:
    specs = {s.name: s for s in all_specs()}
    assert specs["docpipe.ledger.ocr"].cleanup_policy == "compact"
    assert specs["docpipe.ledger.ocr"].partitions == specs["docs.ingested"].partitions
    assert all(s.partitions >= 1 for s in specs.values())
