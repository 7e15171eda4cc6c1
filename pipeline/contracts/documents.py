"""Payloads from ingestion to OCR: what a document is and what was read from it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from pipeline.contracts.envelope import ContractModel


class DocKind(StrEnum):
    invoice = "invoice"
    receipt = "receipt"
    po_change = "po_change"
    unknown = "unknown"


class BlobRef(ContractModel):
    """Claim check: where the bytes are, never the bytes themselves."""

    uri: str = Field(description="Blob URI, e.g. file:///var/docpipe/blobs/ab/cd/<sha256> or s3://bucket/key.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=1)
    media_type: str = Field(description="Detected from magic bytes, e.g. application/pdf, image/png.")


class DocumentIngested(ContractModel):
    blob: BlobRef
    filename: str | None = Field(default=None, max_length=512)
    source: str = Field(default="cli", description="Channel the document came in by (cli, api, email, sftp).")
    kind_hint: DocKind | None = Field(default=None, description="Publisher's statement of the document kind.")
    submitted_by: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class Point(ContractModel):
    x: float
    y: float


class BBox(ContractModel):
    """Axis-aligned box in page pixels (at the page's dpi), origin top-left."""

    x0: float
    y0: float
    x1: float
    y1: float


class Word(ContractModel):
    text: str
    bbox: BBox
    confidence: float = Field(ge=0.0, le=1.0)


class Line(ContractModel):
    text: str
    bbox: BBox
    polygon: list[Point] = Field(default_factory=list, description="Four corners clockwise from top-left.")
    confidence: float = Field(ge=0.0, le=1.0)
    order: int = Field(ge=0, description="Reading-order index within the page.")
    row: int | None = Field(default=None, description="Visual row index (lines merged into table rows).")
    words: list[Word] = Field(default_factory=list)


class Page(ContractModel):
    index: int = Field(ge=0)
    width: float = Field(gt=0)
    height: float = Field(gt=0)
    dpi: float = Field(gt=0)
    source: Literal["text_layer", "ocr", "structured"]
    rotation: int = Field(default=0, description="Degrees the page was rotated to read upright (0/90/180/270).")
    lines: list[Line] = Field(default_factory=list)


class EngineInfo(ContractModel):
    name: str
    version: str
    models: dict[str, str] = Field(default_factory=dict, description="Model file name -> checksum/version.")
    execution_provider: str | None = None


class OcrResult(ContractModel):
    blob: BlobRef
    kind: DocKind = DocKind.unknown
    pages: list[Page] = Field(default_factory=list)
    engine: EngineInfo
    structured: dict[str, Any] | None = Field(
        default=None, description="Structured documents (PO change JSON) pass through here instead of OCR."
    )
    timings_ms: dict[str, float] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)

    def text(self) -> str:
        return "\n".join(line.text for page in self.pages for line in sorted(page.lines, key=lambda ln: ln.order))
