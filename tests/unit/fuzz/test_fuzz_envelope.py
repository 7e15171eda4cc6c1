"""Fuzzing event decoding: any message value becomes an Envelope or a DecodeError (-> DLQ), never a crash.

A decoder that leaks any other exception would crash the worker on a poison message, and a
restarted worker would read the same message again: a crash loop instead of a dead letter.
Found and fixed here: deep nesting (RecursionError), >4300-digit numbers and non-ASCII digits in
schema_version (ValueError) escaped `decode_envelope`.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.contracts import SCHEMA_VERSION, DocumentIngested, Envelope, OcrResult
from pipeline.runtime import LocalRunner, StageSpec
from pipeline.runtime.errors import DecodeError
from pipeline.runtime.stage import decode_envelope
from pipeline.topics import INGESTED

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ_JSON = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SHA = "0123456789abcdef" * 4
VALID: dict[str, Any] = {
    "schema_version": SCHEMA_VERSION, "event_id": "e-1", "event_type": INGESTED, "document_id": SHA,
    "correlation_id": "c-1", "producer": {"stage": "ingest", "version": "1"},
    "payload": {"blob": {"uri": "file:///b/x", "sha256": SHA, "size": 10, "media_type": "application/pdf"}},
}
KINDS = {"undecodable", "schema_invalid", "unknown_major_version"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25,
)


def decode(raw: bytes | None, model: type = DocumentIngested) -> Envelope[Any] | None:
    try:
        return decode_envelope(raw, model)
    except DecodeError as exc:
        assert exc.kind in KINDS
        assert str(exc) and "\n" not in str(exc)
        return None


def test_the_valid_event_decodes() -> None:
    env = decode(json.dumps(VALID).encode())
    assert env is not None and env.payload.blob.size == 10


@FUZZ
@given(st.binary(max_size=2048))
@example(None)
@example(b"[" * 100_000)
@example(b'{"a":' * 100_000)
@example(b'{"schema_version": "1.0", "x": ' + b"1" * 5000 + b"}")
@example(b'{"schema_version": "\xc2\xb2.0"}')  # superscript two: isdigit() but not int()
@example(b'{"schema_version": "' + b"9" * 5000 + b'.0"}')
@example(b"\xff\xfe{}")
@example(b"NaN")
def test_arbitrary_bytes(raw: bytes | None) -> None:
    decode(raw)


@FUZZ_JSON
@given(json_values)
def test_arbitrary_json(value: object) -> None:
    decode(json.dumps(value).encode())


@FUZZ_JSON
@given(st.sampled_from(sorted(VALID)), json_values)
def test_one_field_replaced(field: str, value: object) -> None:
    decode(json.dumps({**VALID, field: value}).encode())


@FUZZ_JSON
@given(st.dictionaries(st.sampled_from(sorted(VALID["payload"]["blob"])), json_values, max_size=4),
       st.sampled_from([DocumentIngested, OcrResult]))
def test_payload_fields_mutated(blob: dict, model: type) -> None:
    doc = {**VALID, "payload": {"blob": {**VALID["payload"]["blob"], **blob}}}
    decode(json.dumps(doc).encode(), model)


@FUZZ
@given(st.text(max_size=12))
def test_schema_versions(version: str) -> None:
    env = decode(json.dumps({**VALID, "schema_version": version}).encode())
    if env is not None:
        assert env.schema_version.split(".")[0] == SCHEMA_VERSION.split(".")[0]


@FUZZ
@given(st.binary(max_size=300))
def test_truncated_valid_event(cut: bytes) -> None:
    raw = json.dumps(VALID).encode()
    decode(raw[: len(cut) % len(raw)])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=200) | st.just(json.dumps(VALID).encode()), min_size=1, max_size=8))
def test_runner_dead_letters_every_undecodable_message(batch: list[bytes]) -> None:
    """End to end through the real policy: every input yields either outputs or exactly one dead letter."""
    stage = StageSpec("fuzz", "1", INGESTED, DocumentIngested, handler=lambda env: [])
    result = LocalRunner(stage).run(batch)
    good = sum(1 for raw in batch if decode(raw) is not None)
    assert len(result.dead_letters) == 2 * (len(batch) - good)  # DLQ event + its status event
