"""Reference data: vendors, bank accounts, purchase orders, PO lines, goods receipts, document index.

Revision ID: 0001_refdata
Revises: None
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_refdata"
down_revision = None
branch_labels = None
depends_on = None

AMOUNT = sa.String(40)  # canonical decimal strings (see pipeline.refdata.models.DecimalString)


def upgrade() -> None:
    op.create_table(
        "vendors",
        sa.Column("vendor_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("aliases", sa.Text(), nullable=False, server_default=""),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("locale", sa.String(20), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("tax_id", sa.String(40), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.PrimaryKeyConstraint("vendor_id", name="pk_vendors"),
    )
    op.create_index("ix_vendors_tax_id", "vendors", ["tax_id"])
    op.create_table(
        "vendor_bank_accounts",
        sa.Column("vendor_id", sa.String(64), nullable=False),
        sa.Column("iban", sa.String(34), nullable=False),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendors.vendor_id"],
            ondelete="CASCADE",
            name="fk_vendor_bank_accounts_vendor_id_vendors",
        ),
        sa.PrimaryKeyConstraint("vendor_id", "iban", name="pk_vendor_bank_accounts"),
    )
    op.create_index("ix_vendor_bank_accounts_iban", "vendor_bank_accounts", ["iban"])
    op.create_table(
        "purchase_orders",
        sa.Column("po_number", sa.String(64), nullable=False),
        sa.Column("po_key", sa.String(64), nullable=False),
        sa.Column("vendor_id", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("order_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False, server_default="open"),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendors.vendor_id"], name="fk_purchase_orders_vendor_id_vendors"
        ),
        sa.PrimaryKeyConstraint("po_number", name="pk_purchase_orders"),
    )
    op.create_index("ix_purchase_orders_po_key", "purchase_orders", ["po_key"])
    op.create_index("ix_purchase_orders_vendor_id", "purchase_orders", ["vendor_id"])
    op.create_table(
        "po_lines",
        sa.Column("po_number", sa.String(64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=True),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("quantity", AMOUNT, nullable=False),
        sa.Column("unit_price", AMOUNT, nullable=False),
        sa.Column("need_by_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["po_number"],
            ["purchase_orders.po_number"],
            ondelete="CASCADE",
            name="fk_po_lines_po_number_purchase_orders",
        ),
        sa.PrimaryKeyConstraint("po_number", "line_no", name="pk_po_lines"),
    )
    op.create_table(
        "goods_receipts",
        sa.Column("gr_number", sa.String(64), nullable=False),
        sa.Column("po_number", sa.String(64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("quantity_received", AMOUNT, nullable=False),
        sa.Column("received_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["po_number", "line_no"],
            ["po_lines.po_number", "po_lines.line_no"],
            ondelete="CASCADE",
            name="fk_goods_receipts_po_line",
        ),
        sa.PrimaryKeyConstraint("gr_number", "po_number", "line_no", name="pk_goods_receipts"),
    )
    op.create_index("ix_goods_receipts_po", "goods_receipts", ["po_number"])
    op.create_table(
        "document_index",
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("vendor_id", sa.String(64), nullable=True),
        sa.Column("invoice_number", sa.String(100), nullable=True),
        sa.Column("amount", AMOUNT, nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("doc_date", sa.Date(), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("document_id", name="pk_document_index"),
    )
    op.create_index("ix_document_index_vendor_invoice", "document_index", ["vendor_id", "invoice_number"])
    op.create_index(
        "ix_document_index_vendor_amount_date", "document_index", ["vendor_id", "amount", "doc_date"]
    )


def downgrade() -> None:
    op.drop_table("document_index")
    op.drop_table("goods_receipts")
    op.drop_table("po_lines")
    op.drop_table("purchase_orders")
    op.drop_table("vendor_bank_accounts")
    op.drop_table("vendors")
