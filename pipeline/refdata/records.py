"""Reference data as plain immutable values: what normalizers and rules read (no DB session inside).

Amounts are Decimal, dates are datetime.date; the repository converts from rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class VendorRecord:
    vendor_id: str
    name: str
    aliases: tuple[str, ...] = ()
    country: str | None = None
    locale: str | None = None
    currency: str | None = None
    tax_id: str | None = None
    ibans: tuple[str, ...] = ()
    active: bool = True


@dataclass(frozen=True)
class POLineRecord:
    line_no: int
    sku: str | None
    description: str | None
    quantity: Decimal
    unit_price: Decimal
    need_by_date: date | None = None

    @property
    def value(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class ReceiptRecord:
    gr_number: str
    po_number: str
    line_no: int
    quantity_received: Decimal
    received_date: date | None = None


@dataclass(frozen=True)
class PORecord:
    po_number: str
    vendor_id: str | None
    currency: str | None
    order_date: date | None = None
    status: str = "open"
    lines: tuple[POLineRecord, ...] = ()
    receipts: tuple[ReceiptRecord, ...] = field(default=())

    @property
    def total(self) -> Decimal:
        return sum((line.value for line in self.lines), Decimal(0))

    def line(self, line_no: int) -> POLineRecord | None:
        return next((ln for ln in self.lines if ln.line_no == line_no), None)

    def received(self, line_no: int) -> Decimal:
        return sum((r.quantity_received for r in self.receipts if r.line_no == line_no), Decimal(0))


@dataclass(frozen=True)
class DocumentIndexEntry:
    """A previously seen document, for duplicate detection."""

    document_id: str
    vendor_id: str | None
    invoice_number: str | None
    amount: Decimal | None
    doc_date: date | None
    currency: str | None = None
