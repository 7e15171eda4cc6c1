"""Approved-document event -> ERP rows and export records (pure functions).

Amounts are exact Decimals (stored as NUMERIC(20,6) / exported as plain decimal strings); a value
that does not fit that column is refused with a PermanentError (dead-lettered), never rounded.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pipeline.contracts import ApprovedDocument, Envelope
from pipeline.runtime.errors import PermanentError

MAX_SCALE = 6
MAX_INTEGER_DIGITS = 14

# Stable column order of the CSV export (document header columns, then line columns).
HEADER_COLUMNS: tuple[str, ...] = (
    "document_id",
    "document_version",
    "event_id",
    "tenant",
    "kind",
    "vendor_id",
    "vendor_name",
    "vendor_tax_id",
    "invoice_number",
    "document_date",
    "due_date",
    "po_number",
    "currency",
    "subtotal",
    "tax",
    "total",
    "iban",
    "buyer",
    "po_match_status",
    "po_match_po_number",
    "po_match_three_way",
    "straight_through",
    "approved_by",
    "approved_at",
    "source_uri",
    "source_sha256",
    "source_media_type",
    "model",
    "prompt_set",
    "policy",
    "normalizer_version",
    "event_created_at",
)
LINE_COLUMNS: tuple[str, ...] = (
    "line_no",
    "line_sku",
    "line_description",
    "line_quantity",
    "line_unit_price",
    "line_amount",
)
CSV_COLUMNS: tuple[str, ...] = HEADER_COLUMNS + LINE_COLUMNS


def dec_str(value: Decimal | None) -> str | None:
    """Plain decimal string without exponent ('1E+2' -> '100'); None stays None."""
    if value is None:
        return None
    text = format(value, "f")
    return text


def check_decimal(name: str, value: Decimal | None) -> None:
    if value is None:
        return
    if not value.is_finite():
        raise PermanentError(f"{name} is not a finite number")
    sign_digits_exp = value.as_tuple()
    exp = int(sign_digits_exp.exponent)
    scale = max(-exp, 0)
    integer_digits = max(len(sign_digits_exp.digits) + exp, 0)
    if scale > MAX_SCALE and value != value.quantize(Decimal(1).scaleb(-MAX_SCALE)):
        raise PermanentError(f"{name} has more than {MAX_SCALE} decimal places")
    if integer_digits > MAX_INTEGER_DIGITS:
        raise PermanentError(f"{name} has more than {MAX_INTEGER_DIGITS} integer digits")


def utc_naive(ts: datetime) -> datetime:
    """UTC without tzinfo: comparable whatever the database returns (SQLite drops the zone)."""
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts


def validate(env: Envelope[ApprovedDocument]) -> None:
    """Everything the ERP tables need beyond the JSON Schema; raise PermanentError (-> DLQ)."""
    doc = env.payload
    for name in ("subtotal", "tax", "total"):
        check_decimal(name, getattr(doc, name))
    seen: set[int] = set()
    for item in doc.line_items:
        if item.line_no in seen:
            raise PermanentError(f"duplicate line_no {item.line_no}")
        seen.add(item.line_no)
        for name in ("quantity", "unit_price", "amount"):
            check_decimal(f"line {item.line_no} {name}", getattr(item, name))


def _last_approval(doc: ApprovedDocument) -> tuple[str | None, datetime | None]:
    if not doc.approvals:
        return None, None
    latest = max(doc.approvals, key=lambda a: a.at)
    return ",".join(a.by for a in doc.approvals), latest.at


def _ref(obj: Any) -> str | None:
    return f"{obj.name}@{obj.version}" if obj is not None else None


def document_row(env: Envelope[ApprovedDocument]) -> dict[str, Any]:
    """Columns of erp_documents for one event (is_current / applied_at are set by the sink)."""
    doc = env.payload
    approved_by, approved_at = _last_approval(doc)
    pm = doc.po_match
    return {
        "document_id": env.document_id,
        "document_version": doc.document_version,
        "event_id": env.event_id,
        "event_created_at": utc_naive(env.created_at),
        "schema_version": env.schema_version,
        "tenant": env.tenant,
        "correlation_id": env.correlation_id,
        "kind": doc.kind.value,
        "vendor_id": doc.vendor_id,
        "vendor_name": doc.vendor_name,
        "vendor_tax_id": doc.vendor_tax_id,
        "invoice_number": doc.invoice_number,
        "document_date": doc.document_date,
        "due_date": doc.due_date,
        "po_number": doc.po_number,
        "currency": doc.currency,
        "subtotal": doc.subtotal,
        "tax": doc.tax,
        "total": doc.total,
        "iban": doc.iban,
        "buyer": doc.buyer,
        "po_match_status": pm.status if pm else None,
        "po_match_po_number": pm.po_number if pm else None,
        "po_match_three_way": pm.three_way if pm else None,
        "straight_through": doc.straight_through,
        "approved_by": approved_by,
        "approved_at": utc_naive(approved_at) if approved_at else None,
        "approvals_json": json.dumps([a.model_dump(mode="json") for a in doc.approvals]),
        "fields_json": json.dumps(doc.fields, sort_keys=True),
        "po_change_json": doc.po_change.model_dump_json() if doc.po_change else None,
        "source_uri": doc.source.uri,
        "source_sha256": doc.source.sha256,
        "source_media_type": doc.source.media_type,
        "model": _ref(doc.versions.model),
        "prompt_set": _ref(doc.versions.prompt_set),
        "policy": _ref(doc.versions.policy),
        "normalizer_version": doc.versions.normalizer,
        "event_json": env.model_dump_json(),
    }


def line_rows(env: Envelope[ApprovedDocument]) -> list[dict[str, Any]]:
    return [
        {
            "document_id": env.document_id,
            "document_version": env.payload.document_version,
            "line_no": item.line_no,
            "sku": item.sku,
            "description": item.description,
            "quantity": item.quantity,
            "unit_price": item.unit_price,
            "amount": item.amount,
        }
        for item in sorted(env.payload.line_items, key=lambda i: i.line_no)
    ]


def _text(value: Any) -> str:
    """CSV cell: decimals as plain strings, dates ISO, booleans true/false, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return dec_str(value) or ""
    if isinstance(value, datetime):
        return (
            value.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
            if value.tzinfo is None
            else value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        )
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def header_record(env: Envelope[ApprovedDocument]) -> dict[str, str]:
    row = document_row(env)
    return {col: _text(row[col]) for col in HEADER_COLUMNS}


def csv_rows(env: Envelope[ApprovedDocument]) -> list[list[str]]:
    """One CSV row per line item, header columns repeated; a document without lines gets one row."""
    head = header_record(env)
    base = [head[c] for c in HEADER_COLUMNS]
    lines = line_rows(env)
    if not lines:
        return [base + [""] * len(LINE_COLUMNS)]
    return [
        [
            *base,
            _text(ln["line_no"]),
            _text(ln["sku"]),
            _text(ln["description"]),
            _text(ln["quantity"]),
            _text(ln["unit_price"]),
            _text(ln["amount"]),
        ]
        for ln in lines
    ]


def jsonl_record(env: Envelope[ApprovedDocument]) -> dict[str, Any]:
    """One JSON object per document: header columns plus `lines`, every decimal as a string."""
    record: dict[str, Any] = {}
    row = document_row(env)
    for col in HEADER_COLUMNS:
        value = row[col]
        record[col] = None if value is None else (value if isinstance(value, (bool, int)) else _text(value))
    record["lines"] = [
        {
            "line_no": ln["line_no"],
            "sku": ln["sku"],
            "description": ln["description"],
            "quantity": dec_str(ln["quantity"]),
            "unit_price": dec_str(ln["unit_price"]),
            "amount": dec_str(ln["amount"]),
        }
        for ln in line_rows(env)
    ]
    return record
