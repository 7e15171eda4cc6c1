"""Database access for reference data: snapshot loading, duplicate lookup, document index writes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

from pipeline.refdata.models import DocumentIndex, GoodsReceipt, PurchaseOrder, Vendor
from pipeline.refdata.records import DocumentIndexEntry, POLineRecord, PORecord, ReceiptRecord, VendorRecord
from pipeline.refdata.snapshot import RefSnapshot

CENT = Decimal("0.01")


def amount_key(amount: Decimal | None) -> Decimal | None:
    """Amounts are compared at cent precision (the index stores this form)."""
    return None if amount is None else amount.quantize(CENT)


class RefDataRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def snapshot(self) -> RefSnapshot:
        """All vendors, POs, lines and receipts as immutable records (one read transaction)."""
        with Session(self.engine) as s:
            vendors = [
                VendorRecord(
                    vendor_id=v.vendor_id,
                    name=v.name,
                    aliases=tuple(a for a in (v.aliases or "").split("|") if a),
                    country=v.country,
                    locale=v.locale,
                    currency=v.currency,
                    tax_id=v.tax_id,
                    ibans=tuple(b.iban for b in v.bank_accounts),
                    active=v.active,
                )
                for v in s.scalars(
                    select(Vendor).options(selectinload(Vendor.bank_accounts)).order_by(Vendor.vendor_id)
                )
            ]
            receipts: dict[str, list[ReceiptRecord]] = {}
            for gr in s.scalars(
                select(GoodsReceipt).order_by(
                    GoodsReceipt.po_number, GoodsReceipt.gr_number, GoodsReceipt.line_no
                )
            ):
                receipts.setdefault(gr.po_number, []).append(
                    ReceiptRecord(
                        gr.gr_number, gr.po_number, gr.line_no, gr.quantity_received, gr.received_date
                    )
                )
            pos = [
                PORecord(
                    po_number=p.po_number,
                    vendor_id=p.vendor_id,
                    currency=p.currency,
                    order_date=p.order_date,
                    status=p.status,
                    lines=tuple(
                        POLineRecord(
                            ln.line_no, ln.sku, ln.description, ln.quantity, ln.unit_price, ln.need_by_date
                        )
                        for ln in p.lines
                    ),
                    receipts=tuple(receipts.get(p.po_number, ())),
                )
                for p in s.scalars(
                    select(PurchaseOrder)
                    .options(selectinload(PurchaseOrder.lines))
                    .order_by(PurchaseOrder.po_number)
                )
            ]
        return RefSnapshot.of(vendors, pos)

    def find_duplicates(self, entry: DocumentIndexEntry) -> list[DocumentIndexEntry]:
        """Other documents of the same vendor with the same invoice number, or the same amount and date."""
        if entry.vendor_id is None:
            return []
        conds = []
        if entry.invoice_number:
            conds.append(DocumentIndex.invoice_number == entry.invoice_number)
        amount = amount_key(entry.amount)
        if amount is not None and entry.doc_date is not None:
            conds.append(and_(DocumentIndex.amount == amount, DocumentIndex.doc_date == entry.doc_date))
        if not conds:
            return []
        stmt = (
            select(DocumentIndex)
            .where(
                DocumentIndex.vendor_id == entry.vendor_id,
                DocumentIndex.document_id != entry.document_id,
                or_(*conds),
            )
            .order_by(DocumentIndex.recorded_at, DocumentIndex.document_id)
            .limit(20)
        )
        with Session(self.engine) as s:
            return [
                DocumentIndexEntry(
                    r.document_id, r.vendor_id, r.invoice_number, r.amount, r.doc_date, r.currency
                )
                for r in s.scalars(stmt)
            ]

    def record_document(self, entry: DocumentIndexEntry, kind: str, at: datetime | None = None) -> None:
        """Idempotent upsert keyed by document id (a replayed document overwrites its own row)."""
        with Session(self.engine) as s, s.begin():
            s.merge(
                DocumentIndex(
                    document_id=entry.document_id,
                    vendor_id=entry.vendor_id,
                    invoice_number=entry.invoice_number,
                    amount=amount_key(entry.amount),
                    currency=entry.currency,
                    doc_date=entry.doc_date,
                    kind=kind,
                    recorded_at=at or datetime.now(UTC),
                )
            )
