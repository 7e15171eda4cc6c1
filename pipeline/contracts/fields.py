"""Payloads from extraction to the gate: fields with confidence and provenance."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from pipeline.contracts.documents import BBox, BlobRef, DocKind
from pipeline.contracts.envelope import ContractModel


class Provenance(ContractModel):
    page: int = Field(ge=0)
    bbox: BBox | None = None
    line_index: int | None = Field(default=None, description="Reading-order index of the source line.")
    source_text: str = Field(default="", description="The exact document text the value was read from.")


class FieldStatus(StrEnum):
    found = "found"
    absent = "absent"


class ExtractedField(ContractModel):
    name: str
    value: str | None = Field(description="Raw string as it appears in the document; None when absent.")
    confidence: float = Field(ge=0.0, le=1.0, description="Calibrated probability that the value is right.")
    status: FieldStatus = FieldStatus.found
    provenance: list[Provenance] = Field(default_factory=list)
    grounded: bool = Field(default=True, description="False when the value was not found verbatim in the text.")


class ExtractedLineItem(ContractModel):
    description: str | None = None
    quantity: str | None = None
    unit_price: str | None = None
    amount: str | None = None
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    provenance: list[Provenance] = Field(default_factory=list)


class PromptSetRef(ContractModel):
    name: str
    version: str
    checksum: str = Field(description="sha256 of the prompt file as loaded.")


class ModelRef(ContractModel):
    name: str
    version: str
    variant: str = Field(default="fp32", description="fp32, int8, fp16 ...")
    checksum: str | None = None
    backend: str = Field(default="qa", description="qa (extractive) or generative.")


class Extraction(ContractModel):
    blob: BlobRef
    kind: DocKind
    prompt_set: PromptSetRef
    model: ModelRef
    fields: dict[str, ExtractedField] = Field(default_factory=dict)
    line_items: list[ExtractedLineItem] = Field(default_factory=list)
    structured: dict[str, Any] | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)
    warnings: list[str] = Field(
        default_factory=list,
        description="Things a reviewer must know, e.g. instruction-like text that was quarantined "
        "(location only, never the text).",
    )


class NormalizedField(ContractModel):
    name: str
    raw: str | None
    value: str | None = Field(description="Canonical string: ISO date, Decimal string, ISO 4217 code, id ...")
    value_type: Literal["date", "amount", "currency", "tax_id", "iban", "text", "po_number", "integer", "json"]
    confidence: float = Field(ge=0.0, le=1.0)
    valid: bool = True
    notes: list[str] = Field(default_factory=list)
    provenance: list[Provenance] = Field(default_factory=list)
    corroborated_by: list[str] = Field(
        default_factory=list,
        description="Independent evidence that gives the same value (vendor master, locale, a legal tax rate "
        "of the total); the gate policy decides whether it may stand in for confidence.",
    )


class NormalizedLineItem(ContractModel):
    line_no: int
    description: str | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None
    sku: str | None = None
    notes: list[str] = Field(default_factory=list)
    confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Extraction confidence of the line (checked by the gate)."
    )


class VendorMatch(ContractModel):
    vendor_id: str | None
    name: str | None = None
    score: float = Field(ge=0.0, le=100.0)
    method: str = Field(default="none", description="tax_id, iban, exact, fuzzy, none")
    candidates: list[tuple[str, float]] = Field(default_factory=list)
    ambiguous: bool = False


class POLineDelta(ContractModel):
    line_no: int
    change: Literal["added", "removed", "quantity", "price", "date", "description", "unchanged"]
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class POChangeSummary(ContractModel):
    po_number: str
    change_number: str | None = None
    deltas: list[POLineDelta] = Field(default_factory=list)
    total_before: Decimal | None = None
    total_after: Decimal | None = None
    total_delta: Decimal | None = None
    max_lead_time_impact_days: int | None = None
    summary: str = ""


class NormalizedDocument(ContractModel):
    blob: BlobRef
    kind: DocKind
    fields: dict[str, NormalizedField] = Field(default_factory=dict)
    line_items: list[NormalizedLineItem] = Field(default_factory=list)
    vendor: VendorMatch | None = None
    currency: str | None = None
    locale: str | None = None
    po_change: POChangeSummary | None = None
    prompt_set: PromptSetRef | None = None
    model: ModelRef | None = None
    normalizer_version: str = "1"
    structured: dict[str, Any] | None = None
    warnings: list[str] = Field(default_factory=list, description="Carried over from the extraction.")

    def amount(self, name: str) -> Decimal | None:
        """A valid field's canonical value as a Decimal (None when absent, invalid or not a number)."""
        f = self.fields.get(name)
        if f is None or not f.valid or f.value is None:
            return None
        try:
            return Decimal(f.value)
        except InvalidOperation:
            return None
