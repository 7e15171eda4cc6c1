"""The topic catalogue: every topic the pipeline uses, in one place.

Topics are created explicitly (`docpipe topics create`), never auto-created. Every event's key is
the document id, so all events of one document stay in order on one partition. A deployment may
prefix every name (DOCPIPE_TOPIC_PREFIX) to share a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from pipeline.contracts import (
    ApprovedDocument,
    DeadLetter,
    Decision,
    DocumentIngested,
    Extraction,
    Feedback,
    NormalizedDocument,
    OcrResult,
    Rejection,
    StageStatus,
)

DAY_MS = 24 * 3600 * 1000
# OCR results of long documents (~20 KB per text page) outgrow Kafka's 1 MB default; the stages
# downstream carry the same document, so their topics take the same size. Producers match it.
LARGE_MESSAGE_BYTES = 16 * 1024 * 1024
LARGE = {"max.message.bytes": str(LARGE_MESSAGE_BYTES)}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    payload: type[BaseModel] | None
    description: str
    partitions: int = 6
    retention_ms: int = 7 * DAY_MS
    cleanup_policy: str = "delete"
    extra_config: dict[str, str] = field(default_factory=dict)

    def config(self) -> dict[str, str]:
        cfg = {"retention.ms": str(self.retention_ms), "cleanup.policy": self.cleanup_policy}
        cfg.update(self.extra_config)
        return cfg


INGESTED = "docs.ingested"
OCR = "docs.ocr"
EXTRACTED = "docs.extracted"
NORMALIZED = "docs.normalized"
DECIDED = "docs.decided"
APPROVED = "docs.approved"
REJECTED = "docs.rejected"
FEEDBACK = "docs.feedback"
DLQ = "docs.dlq"
STATUS = "docs.status"
LEDGER_PREFIX = "docpipe.ledger."

CATALOGUE: dict[str, TopicSpec] = {
    t.name: t
    for t in [
        TopicSpec(INGESTED, DocumentIngested, "A document was stored in the blob store (claim check)."),
        TopicSpec(OCR, OcrResult, "Pages, lines, boxes and confidences; structured documents pass through.",
                  extra_config=LARGE),
        TopicSpec(EXTRACTED, Extraction, "Raw field values with confidence and provenance, per prompt set.",
                  extra_config=LARGE),
        TopicSpec(NORMALIZED, NormalizedDocument, "Typed, validated values; vendor match; PO change deltas.",
                  extra_config=LARGE),
        TopicSpec(DECIDED, Decision, "Gate outcome with every rule evaluated and the policy version.",
                  extra_config=LARGE),
        TopicSpec(
            APPROVED, ApprovedDocument, "The ERP contract: approved documents.", retention_ms=30 * DAY_MS
        ),
        TopicSpec(REJECTED, Rejection, "Rejected documents with reasons.", retention_ms=30 * DAY_MS),
        TopicSpec(FEEDBACK, Feedback, "Reviewer corrections, training data.", retention_ms=365 * DAY_MS),
        TopicSpec(DLQ, DeadLetter, "Poison input from any stage, with the original for replay.",
                  retention_ms=30 * DAY_MS),
        TopicSpec(STATUS, StageStatus, "Where each document is and why (one event per stage transition)."),
    ]
}

# Stages and the topic each consumes. Ledger topics (compacted) record what a stage has handled,
# written in the same Kafka transaction as its outputs, so replays are recognised after a crash.
STAGE_INPUTS: dict[str, str] = {
    "ocr": INGESTED,
    "extract": OCR,
    "normalize": EXTRACTED,
    "gate": NORMALIZED,
    "review-intake": DECIDED,
    "erp-sql": APPROVED,
    "erp-webhook": APPROVED,
}


def ledger_topic(stage: str) -> str:
    return f"{LEDGER_PREFIX}{stage}"


def ledger_spec(stage: str, partitions: int) -> TopicSpec:
    return TopicSpec(
        ledger_topic(stage),
        None,
        f"Idempotency ledger of stage '{stage}' (compacted; key = document id + stage version).",
        partitions=partitions,
        retention_ms=-1,
        cleanup_policy="compact",
        extra_config={"min.compaction.lag.ms": str(60 * 60 * 1000)},
    )


def all_specs(partitions: int | None = None) -> list[TopicSpec]:
    """Every topic to create, ledger topics included, optionally with another partition count."""
    specs = list(CATALOGUE.values())
    if partitions is not None:
        specs = [TopicSpec(s.name, s.payload, s.description, partitions, s.retention_ms, s.cleanup_policy,
                           s.extra_config) for s in specs]
    by_name = {s.name: s for s in specs}
    for stage, topic in STAGE_INPUTS.items():
        specs.append(ledger_spec(stage, by_name[topic].partitions))
    return specs


def payload_model(topic: str) -> type[BaseModel]:
    spec = CATALOGUE.get(topic)
    if spec is None or spec.payload is None:
        raise KeyError(f"no payload model registered for topic {topic!r}")
    return spec.payload
