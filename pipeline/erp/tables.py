"""ERP sink tables (DDL lives in migration 0003_erp; these Core tables mirror it for queries).

erp_documents / erp_document_lines: one row per (document_id, document_version); `is_current`
marks the highest version of each document. erp_applied_events: every event applied, by event_id
(deduplication and audit). erp_offsets: the sink's consumed positions, written in the same
transaction as the rows, so rows and offsets can never disagree.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from pipeline.db import Base

AMOUNT_PRECISION, AMOUNT_SCALE = 20, 6


class ExactDecimal(TypeDecorator[Decimal]):
    """NUMERIC(20,6) where the database has it; a decimal string on SQLite (whose NUMERIC is a float)."""

    impl = Numeric(AMOUNT_PRECISION, AMOUNT_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(AMOUNT_PRECISION, AMOUNT_SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return format(Decimal(value), "f") if dialect.name == "sqlite" else Decimal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


def amount_column_type() -> Any:
    """The DDL type used by the migration (kept here so both agree)."""
    return Numeric(AMOUNT_PRECISION, AMOUNT_SCALE).with_variant(String(40), "sqlite")


md = Base.metadata

erp_documents = Table(
    "erp_documents",
    md,
    Column("document_id", String(64), primary_key=True),
    Column("document_version", Integer, primary_key=True),
    Column("event_id", String(64), nullable=False),
    Column("event_created_at", DateTime(timezone=False), nullable=False),
    Column("schema_version", String(16), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("correlation_id", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("vendor_id", String(128)),
    Column("vendor_name", Text),
    Column("vendor_tax_id", String(64)),
    Column("invoice_number", String(128)),
    Column("document_date", Date),
    Column("due_date", Date),
    Column("po_number", String(128)),
    Column("currency", String(3)),
    Column("subtotal", ExactDecimal()),
    Column("tax", ExactDecimal()),
    Column("total", ExactDecimal()),
    Column("iban", String(64)),
    Column("buyer", Text),
    Column("po_match_status", String(16)),
    Column("po_match_po_number", String(128)),
    Column("po_match_three_way", Boolean),
    Column("straight_through", Boolean, nullable=False),
    Column("approved_by", Text),
    Column("approved_at", DateTime(timezone=False)),
    Column("approvals_json", Text, nullable=False),
    Column("fields_json", Text, nullable=False),
    Column("po_change_json", Text),
    Column("source_uri", Text, nullable=False),
    Column("source_sha256", String(64), nullable=False),
    Column("source_media_type", String(128), nullable=False),
    Column("model", String(256)),
    Column("prompt_set", String(256)),
    Column("policy", String(256)),
    Column("normalizer_version", String(64)),
    Column("event_json", Text, nullable=False),
    Column("is_current", Boolean, nullable=False),
    Column("applied_at", DateTime(timezone=False), nullable=False),
)

erp_document_lines = Table(
    "erp_document_lines",
    md,
    Column("document_id", String(64), primary_key=True),
    Column("document_version", Integer, primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("sku", String(128)),
    Column("description", Text),
    Column("quantity", ExactDecimal()),
    Column("unit_price", ExactDecimal()),
    Column("amount", ExactDecimal()),
    ForeignKeyConstraint(
        ["document_id", "document_version"],
        ["erp_documents.document_id", "erp_documents.document_version"],
        ondelete="CASCADE",
        name="fk_erp_document_lines_document",
    ),
)

erp_applied_events = Table(
    "erp_applied_events",
    md,
    Column("event_id", String(64), primary_key=True),
    Column("document_id", String(64), nullable=False),
    Column("document_version", Integer, nullable=False),
    Column("topic", String(249), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("effect", String(16), nullable=False),
    Column("applied_at", DateTime(timezone=False), nullable=False),
)

erp_offsets = Table(
    "erp_offsets",
    md,
    Column("consumer_group", String(255), primary_key=True),
    Column("topic", String(249), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=False), nullable=False),
)
