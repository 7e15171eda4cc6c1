"""SQLAlchemy 2 models of the reference data and the document index (schema: migrations 0001_refdata,
0004_gate_claims).

Amounts are stored as canonical decimal strings (exact and portable between SQLite and PostgreSQL);
the repository converts them to Decimal.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from pipeline.db import Base


class DecimalString(TypeDecorator[Decimal]):
    """Decimal stored as its canonical string: no float rounding, same on every backend."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: object) -> str | None:
        return None if value is None else format(Decimal(value), "f")

    def process_result_value(self, value: str | None, dialect: object) -> Decimal | None:
        return None if value is None else Decimal(value)


class Vendor(Base):
    __tablename__ = "vendors"

    vendor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    aliases: Mapped[str] = mapped_column(Text, default="", doc="'|'-separated alternative names")
    country: Mapped[str | None] = mapped_column(String(2))
    locale: Mapped[str | None] = mapped_column(String(20))
    currency: Mapped[str | None] = mapped_column(String(3))
    tax_id: Mapped[str | None] = mapped_column(String(40), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    bank_accounts: Mapped[list[VendorBankAccount]] = relationship(
        back_populates="vendor", cascade="all, delete-orphan", order_by="VendorBankAccount.iban"
    )


class VendorBankAccount(Base):
    __tablename__ = "vendor_bank_accounts"

    vendor_id: Mapped[str] = mapped_column(
        ForeignKey("vendors.vendor_id", ondelete="CASCADE"), primary_key=True
    )
    iban: Mapped[str] = mapped_column(String(34), primary_key=True, index=True)

    vendor: Mapped[Vendor] = relationship(back_populates="bank_accounts")


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"

    po_number: Mapped[str] = mapped_column(String(64), primary_key=True)
    po_key: Mapped[str] = mapped_column(String(64), index=True, doc="matching key, see normalize.po.po_key")
    vendor_id: Mapped[str] = mapped_column(ForeignKey("vendors.vendor_id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    order_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")

    lines: Mapped[list[POLine]] = relationship(cascade="all, delete-orphan", order_by="POLine.line_no")


class POLine(Base):
    __tablename__ = "po_lines"

    po_number: Mapped[str] = mapped_column(
        ForeignKey("purchase_orders.po_number", ondelete="CASCADE"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(DecimalString)
    unit_price: Mapped[Decimal] = mapped_column(DecimalString)
    need_by_date: Mapped[date | None] = mapped_column(Date)


class GoodsReceipt(Base):
    __tablename__ = "goods_receipts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["po_number", "line_no"],
            ["po_lines.po_number", "po_lines.line_no"],
            ondelete="CASCADE",
            name="fk_goods_receipts_po_line",
        ),
        Index("ix_goods_receipts_po", "po_number"),
    )

    gr_number: Mapped[str] = mapped_column(String(64), primary_key=True)
    po_number: Mapped[str] = mapped_column(String(64), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    quantity_received: Mapped[Decimal] = mapped_column(DecimalString)
    received_date: Mapped[date | None] = mapped_column(Date)


class DocumentIndex(Base):
    """Every document the gate has seen: duplicate detection (same vendor + number, or amount + date)."""

    __tablename__ = "document_index"
    __table_args__ = (
        Index("ix_document_index_vendor_invoice", "vendor_id", "invoice_number"),
        Index("ix_document_index_vendor_amount_date", "vendor_id", "amount", "doc_date"),
    )

    document_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    vendor_id: Mapped[str | None] = mapped_column(String(64))
    invoice_number: Mapped[str | None] = mapped_column(String(100))
    amount: Mapped[Decimal | None] = mapped_column(DecimalString)
    currency: Mapped[str | None] = mapped_column(String(3))
    doc_date: Mapped[date | None] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DuplicateClaim(Base):
    """A duplicate key (vendor + invoice number, or vendor + amount + date) owned by the first document
    that claimed it: the primary key makes a second owner impossible, even for concurrent gate workers."""

    __tablename__ = "duplicate_claims"

    vendor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    claim_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    claim_value: Mapped[str] = mapped_column(String(200), primary_key=True)
    document_id: Mapped[str] = mapped_column(String(64), index=True)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class POLineBilling(Base):
    """Quantity one invoice bills on one PO line; `id` orders invoices, so each sees only earlier ones."""

    __tablename__ = "po_line_billings"
    __table_args__ = (UniqueConstraint("po_number", "line_no", "document_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    po_number: Mapped[str] = mapped_column(String(64))
    line_no: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[str] = mapped_column(String(64), index=True)
    quantity: Mapped[Decimal] = mapped_column(DecimalString)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
