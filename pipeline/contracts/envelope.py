"""The envelope every event on every topic travels in.

Compatibility rule (see schemas/CHANGELOG.md): within a major version only additive,
optional changes are allowed; a consumer rejects an unknown *major* version to the DLQ
and tolerates unknown fields of a known major version.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_MAJOR = 1
SCHEMA_MINOR = 1
SCHEMA_VERSION = f"{SCHEMA_MAJOR}.{SCHEMA_MINOR}"

# uuid5 namespace for deterministic event ids: the same input handled by the same
# stage version always yields the same output event id, so replays are recognisable.
EVENT_NAMESPACE = uuid.UUID("6f1f3c4e-2a8b-5d7e-9c10-d0c0ffee0001")

P = TypeVar("P", bound=BaseModel)


def utcnow() -> datetime:
    return datetime.now(UTC)


def deterministic_event_id(*parts: str) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, "|".join(parts)))


class ContractModel(BaseModel):
    """Base for all payload models: tolerant readers (extra fields ignored), strict writers."""

    model_config = ConfigDict(extra="ignore", frozen=False, populate_by_name=True)


class Producer(ContractModel):
    stage: str = Field(description="Stage that produced the event, e.g. 'ocr'.")
    version: str = Field(description="Version of the stage logic (part of the idempotency key).")
    instance: str | None = Field(default=None, description="Worker instance id, for tracing only.")


class Envelope(ContractModel, Generic[P]):
    schema_version: str = Field(default=SCHEMA_VERSION, pattern=r"^\d+\.\d+$")
    event_id: str = Field(description="Unique id; deterministic per (document, stage, stage version, input).")
    event_type: str = Field(description="Payload kind, equal to the topic's logical name, e.g. 'docs.ocr'.")
    document_id: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="sha256 of the original document bytes; the Kafka key."
    )
    correlation_id: str = Field(description="Ties every event of one submission together.")
    causation_id: str | None = Field(default=None, description="event_id of the event this one answers.")
    tenant: str = Field(default="default", min_length=1, max_length=64)
    producer: Producer
    created_at: datetime = Field(default_factory=utcnow)
    submitted_at: datetime = Field(
        default_factory=utcnow, description="When the document was first submitted (for end-to-end latency)."
    )
    payload: P

    @field_validator("schema_version")
    @classmethod
    def _known_major(cls, v: str) -> str:
        major = int(v.split(".", 1)[0])
        if major != SCHEMA_MAJOR:
            raise ValueError(f"unsupported schema major version {major} (this consumer speaks {SCHEMA_MAJOR}.x)")
        return v

    @property
    def key(self) -> bytes:
        return self.document_id.encode()

    def follow(
        self,
        event_type: str,
        payload: BaseModel,
        producer: Producer,
        *,
        discriminator: str = "",
    ) -> Envelope[Any]:
        """Build the next event of this document's story, with a deterministic id."""
        return Envelope[Any](
            event_id=deterministic_event_id(
                self.document_id, producer.stage, producer.version, event_type, self.event_id, discriminator
            ),
            event_type=event_type,
            document_id=self.document_id,
            correlation_id=self.correlation_id,
            causation_id=self.event_id,
            tenant=self.tenant,
            producer=producer,
            submitted_at=self.submitted_at,
            payload=payload,
        )
