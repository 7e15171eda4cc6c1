"""Gate: duplicate-key claims (race-free duplicate detection) and billed quantities per PO line.

Revision ID: 0004_gate_claims
Revises: 0003_erp
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_gate_claims"
down_revision = "0003_erp"
branch_labels = None
depends_on = None

AMOUNT = sa.String(40)  # canonical decimal strings (see pipeline.refdata.models.DecimalString)


def upgrade() -> None:
    # The primary key IS the duplicate key: the database lets exactly one document own it.
    op.create_table(
        "duplicate_claims",
        sa.Column("vendor_id", sa.String(64), nullable=False),
        sa.Column("claim_kind", sa.String(16), nullable=False),
        sa.Column("claim_value", sa.String(200), nullable=False),
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("vendor_id", "claim_kind", "claim_value", name="pk_duplicate_claims"),
    )
    op.create_index("ix_duplicate_claims_document_id", "duplicate_claims", ["document_id"])
    # No foreign key to po_lines: reloading a PO's lines must not erase what was already billed.
    op.create_table(
        "po_line_billings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("po_number", sa.String(64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("quantity", AMOUNT, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_po_line_billings"),
        sa.UniqueConstraint("po_number", "line_no", "document_id", name="uq_po_line_billings_po_number"),
    )
    op.create_index("ix_po_line_billings_document_id", "po_line_billings", ["document_id"])


def downgrade() -> None:
    op.drop_index("ix_po_line_billings_document_id", table_name="po_line_billings")
    op.drop_table("po_line_billings")
    op.drop_index("ix_duplicate_claims_document_id", table_name="duplicate_claims")
    op.drop_table("duplicate_claims")
