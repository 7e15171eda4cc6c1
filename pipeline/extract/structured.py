"""Structured PO change documents (JSON) map straight to fields: no model, confidence 1.

The prompt set's `source_key` says which JSON key feeds each field; values are kept as strings
(changed_lines as canonical JSON) so the Extraction contract stays uniform.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.contracts import ExtractedField, Extraction, FieldStatus, ModelRef, OcrResult, Provenance
from pipeline.extract.prompts import load_prompt_set

STRUCTURED_MODEL = ModelRef(name="structured-json", version="1", variant="none", backend="structured")


class StructuredDocumentError(ValueError):
    """The structured payload is not a PO change this extractor understands."""


def _as_text(value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def extract_structured(ocr: OcrResult) -> Extraction:
    data = ocr.structured
    if not isinstance(data, dict):
        raise StructuredDocumentError("structured payload is not a JSON object")
    doc_type = data.get("document_type")
    if doc_type != "po_change":
        raise StructuredDocumentError("unsupported structured document_type")  # value is document content
    if not isinstance(data.get("lines", []), list):
        raise StructuredDocumentError("po_change 'lines' must be a list")
    prompts = load_prompt_set("po_change")
    fields: dict[str, ExtractedField] = {}
    for fp in prompts.fields:
        text = _as_text(data.get(fp.source_key or fp.name))
        if text is None:
            fields[fp.name] = ExtractedField(
                name=fp.name, value=None, confidence=1.0, status=FieldStatus.absent
            )
        else:
            fields[fp.name] = ExtractedField(
                name=fp.name,
                value=text,
                confidence=1.0,
                status=FieldStatus.found,
                provenance=[Provenance(page=0, source_text=f"$.{fp.source_key or fp.name}")],
            )
    return Extraction(
        blob=ocr.blob,
        kind=prompts.kind,
        prompt_set=prompts.ref,
        model=STRUCTURED_MODEL,
        fields=fields,
        structured=data,
    )
