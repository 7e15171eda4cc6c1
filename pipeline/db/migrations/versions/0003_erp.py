"""ERP SQL sink: documents and lines per (document_id, document_version), applied events, offsets.

Revision ID: 0003_erp
Revises: 0002_review
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_erp"
down_revision = "0002_review"
branch_labels = None
depends_on = None


def _amount() -> sa.types.TypeEngine:  # exact decimals; SQLite's NUMERIC is a float, so text there
    return sa.Numeric(20, 6).with_variant(sa.String(40), "sqlite")


def upgrade() -> None:
    op.create_table(
        "erp_documents",
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("document_version", sa.Integer, nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("schema_version", sa.String(16), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("correlation_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("vendor_id", sa.String(128)),
        sa.Column("vendor_name", sa.Text),
        sa.Column("vendor_tax_id", sa.String(64)),
        sa.Column("invoice_number", sa.String(128)),
        sa.Column("document_date", sa.Date),
        sa.Column("due_date", sa.Date),
        sa.Column("po_number", sa.String(128)),
        sa.Column("currency", sa.String(3)),
        sa.Column("subtotal", _amount()),
        sa.Column("tax", _amount()),
        sa.Column("total", _amount()),
        sa.Column("iban", sa.String(64)),
        sa.Column("buyer", sa.Text),
        sa.Column("po_match_status", sa.String(16)),
        sa.Column("po_match_po_number", sa.String(128)),
        sa.Column("po_match_three_way", sa.Boolean),
        sa.Column("straight_through", sa.Boolean, nullable=False),
        sa.Column("approved_by", sa.Text),
        sa.Column("approved_at", sa.DateTime(timezone=False)),
        sa.Column("approvals_json", sa.Text, nullable=False),
        sa.Column("fields_json", sa.Text, nullable=False),
        sa.Column("po_change_json", sa.Text),
        sa.Column("source_uri", sa.Text, nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("source_media_type", sa.String(128), nullable=False),
        sa.Column("model", sa.String(256)),
        sa.Column("prompt_set", sa.String(256)),
        sa.Column("policy", sa.String(256)),
        sa.Column("normalizer_version", sa.String(64)),
        sa.Column("event_json", sa.Text, nullable=False),
        sa.Column("is_current", sa.Boolean, nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("document_id", "document_version", name="pk_erp_documents"),
    )
    op.create_index("ix_erp_documents_current", "erp_documents", ["is_current", "document_id"])
    op.create_index("ix_erp_documents_vendor_invoice", "erp_documents", ["vendor_id", "invoice_number"])
    op.create_table(
        "erp_document_lines",
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("document_version", sa.Integer, nullable=False),
        sa.Column("line_no", sa.Integer, nullable=False),
        sa.Column("sku", sa.String(128)),
        sa.Column("description", sa.Text),
        sa.Column("quantity", _amount()),
        sa.Column("unit_price", _amount()),
        sa.Column("amount", _amount()),
        sa.PrimaryKeyConstraint("document_id", "document_version", "line_no", name="pk_erp_document_lines"),
        sa.ForeignKeyConstraint(
            ["document_id", "document_version"],
            ["erp_documents.document_id", "erp_documents.document_version"],
            ondelete="CASCADE",
            name="fk_erp_document_lines_document",
        ),
    )
    op.create_table(
        "erp_applied_events",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("document_version", sa.Integer, nullable=False),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("effect", sa.String(16), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_erp_applied_events"),
    )
    op.create_index("ix_erp_applied_events_document", "erp_applied_events", ["document_id"])
    op.create_table(
        "erp_offsets",
        sa.Column("consumer_group", sa.String(255), nullable=False),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("next_offset", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("consumer_group", "topic", "partition", name="pk_erp_offsets"),
    )


def downgrade() -> None:
    op.drop_table("erp_offsets")
    op.drop_index("ix_erp_applied_events_document", table_name="erp_applied_events")
    op.drop_table("erp_applied_events")
    op.drop_table("erp_document_lines")
    op.drop_index("ix_erp_documents_vendor_invoice", table_name="erp_documents")
    op.drop_index("ix_erp_documents_current", table_name="erp_documents")
    op.drop_table("erp_documents")
