"""Payloads from the gate onwards: decisions, approvals (the ERP contract), rejections, feedback."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from pipeline.contracts.documents import BlobRef, DocKind
from pipeline.contracts.envelope import ContractModel
from pipeline.contracts.fields import (
    ModelRef,
    NormalizedDocument,
    NormalizedLineItem,
    POChangeSummary,
    PromptSetRef,
)


class Severity(StrEnum):
    info = "info"
    review = "review"  # needs a person
    dual = "dual"  # needs two distinct approvers
    reject = "reject"  # never payable as is


class RuleResult(ContractModel):
    rule_id: str
    description: str
    severity: Severity
    passed: bool
    message: str = Field(description="Plain-language reason shown to reviewers.")
    fields: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)


class PolicyRef(ContractModel):
    name: str
    version: str
    checksum: str


class Outcome(StrEnum):
    auto_approved = "auto_approved"
    exception = "exception"
    rejected = "rejected"


class POMatch(ContractModel):
    po_number: str | None = None
    status: Literal["matched", "partial", "unmatched", "not_applicable"] = "not_applicable"
    three_way: bool = False
    details: dict[str, Any] = Field(default_factory=dict)


class Decision(ContractModel):
    outcome: Outcome
    reasons: list[RuleResult] = Field(default_factory=list, description="Every rule evaluated, passed or not.")
    policy: PolicyRef
    required_approvals: int = Field(default=0, ge=0, le=2)
    po_match: POMatch | None = None
    document: NormalizedDocument


class Approval(ContractModel):
    by: str = Field(description="User id, or 'system' for straight-through processing.")
    role: str
    at: datetime
    comment: str | None = None


class Versions(ContractModel):
    model: ModelRef | None = None
    prompt_set: PromptSetRef | None = None
    policy: PolicyRef | None = None
    normalizer: str | None = None


class ApprovedDocument(ContractModel):
    """The ERP contract (schemas/docs.approved.schema.json). Additive changes only within 1.x."""

    document_version: int = Field(default=1, ge=1, description="Bumped when a corrected document is re-approved.")
    kind: DocKind
    vendor_id: str | None = None
    vendor_name: str | None = None
    vendor_tax_id: str | None = None
    invoice_number: str | None = None
    document_date: date | None = None
    due_date: date | None = None
    po_number: str | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None
    iban: str | None = None
    buyer: str | None = None
    fields: dict[str, str | None] = Field(default_factory=dict, description="Every normalized header field.")
    line_items: list[NormalizedLineItem] = Field(default_factory=list)
    po_match: POMatch | None = None
    po_change: POChangeSummary | None = None
    approvals: list[Approval] = Field(default_factory=list)
    straight_through: bool
    source: BlobRef
    versions: Versions


class Rejection(ContractModel):
    kind: DocKind
    reason: str
    rule_ids: list[str] = Field(default_factory=list)
    by: str
    at: datetime
    source: BlobRef


class Correction(ContractModel):
    field: str
    before: str | None
    after: str | None
    source_text: str | None = None
    page: int | None = None


class Feedback(ContractModel):
    """Reviewer corrections: training examples for the next model."""

    kind: DocKind
    corrections: list[Correction]
    reviewer: str
    at: datetime
    source: BlobRef
    model: ModelRef | None = None
    prompt_set: PromptSetRef | None = None
    outcome: Literal["approved", "rejected"]


class DeadLetter(ContractModel):
    stage: str
    stage_version: str
    error_kind: Literal[
        "undecodable", "schema_invalid", "unknown_major_version", "handler_error", "transient_exhausted"
    ]
    error: str = Field(description="One readable line; never document content.")
    error_type: str
    source_topic: str
    source_partition: int
    source_offset: int
    source_key: str | None = None
    original_b64: str = Field(description="The original message value, base64, for `docpipe dlq replay`.")
    attempts: int = 1
    failed_at: datetime


class StageStatus(ContractModel):
    """Where a document is and why: one per stage transition, read by `docpipe status` and `watch`."""

    stage: str
    state: Literal["received", "done", "skipped_duplicate", "dead_lettered", "exception", "approved", "rejected"]
    detail: str = ""
    next_topic: str | None = None
