"""What a stage is: a name, a version, an input topic and a pure handler."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from pipeline.contracts import SCHEMA_MAJOR, Envelope, Producer
from pipeline.runtime.errors import DecodeError


@dataclass(frozen=True)
class Emit:
    """One output event; `topic` is the logical name from pipeline.topics (prefix added by the runtime)."""

    topic: str
    event: Envelope[Any]


Handler = Callable[[Envelope[Any]], Sequence[Emit]]
BatchHandler = Callable[[Sequence[Envelope[Any]]], Sequence[Sequence[Emit] | Exception]]


@dataclass
class StageSpec:
    """A stage. `handler` must be a pure function of the event (plus reference data/models it closes over).

    `batch_handler`, when set, receives all decodable events of a poll at once (for micro-batching)
    and returns, per event, its outputs or the exception that event raised.
    """

    name: str
    version: str
    input_topic: str
    input_model: type[BaseModel]
    handler: Handler | None = None
    batch_handler: BatchHandler | None = None
    description: str = ""
    output_topics: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if (self.handler is None) == (self.batch_handler is None):
            raise ValueError(f"stage {self.name}: set exactly one of handler / batch_handler")

    @property
    def producer(self) -> Producer:
        return Producer(stage=self.name, version=self.version)

    def idempotency_key(self, document_id: str, event_type: str) -> str:
        return f"{document_id}|{self.name}|{self.version}|{event_type}"

    def handle_batch(self, events: Sequence[Envelope[Any]]) -> list[Sequence[Emit] | Exception]:
        if self.batch_handler is not None:
            results = list(self.batch_handler(events))
            if len(results) != len(events):
                raise RuntimeError(f"stage {self.name}: batch handler returned {len(results)} results "
                                   f"for {len(events)} events")
            return results
        assert self.handler is not None
        out: list[Sequence[Emit] | Exception] = []
        for ev in events:
            try:
                out.append(self.handler(ev))
            except Exception as exc:  # classified by the caller (transient / permanent)
                out.append(exc)
        return out


def decode_envelope(raw: bytes | None, model: type[BaseModel]) -> Envelope[Any]:
    """Parse and validate one message value; raise DecodeError with a readable reason."""
    if raw is None:
        raise DecodeError("undecodable", "message has no value (tombstone)")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # bad JSON/UTF-8, >4300-digit ints, pathological nesting
        raise DecodeError("undecodable", f"not JSON: {exc.__class__.__name__} at byte {getattr(exc, 'pos', '?')}") \
            from None
    if not isinstance(data, dict):
        raise DecodeError("undecodable", "envelope is not a JSON object")
    version = str(data.get("schema_version", ""))
    major = version.split(".", 1)[0]
    if not (major.isascii() and major.isdigit()) or len(major) > 9:
        raise DecodeError("schema_invalid", f"missing or malformed schema_version {version[:20]!r}")
    if int(major) != SCHEMA_MAJOR:
        raise DecodeError("unknown_major_version",
                          f"unknown schema major version {major} (this consumer speaks {SCHEMA_MAJOR}.x)")
    try:
        return Envelope[model].model_validate(data)  # type: ignore[valid-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        raise DecodeError("schema_invalid",
                          f"schema-invalid {model.__name__} envelope: {loc}: {first.get('msg')} "
                          f"({exc.error_count()} error(s))") from None


def encode_envelope(event: Envelope[Any]) -> bytes:
    return event.model_dump_json().encode()
