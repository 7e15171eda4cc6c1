"""Database access for reference data: snapshot loading, and the gate's document record (see claims)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

from pipeline.refdata.claims import GateRecord, PriorDocuments, record_and_claim
from pipeline.refdata.models import GoodsReceipt, PurchaseOrder, Vendor
from pipeline.refdata.records import POLineRecord, PORecord, ReceiptRecord, VendorRecord
from pipeline.refdata.snapshot import RefSnapshot


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

    def record_and_claim(self, rec: GateRecord, at: datetime | None = None) -> PriorDocuments:
        """Record a gated document, claim its duplicate keys, bill its PO lines (one transaction)."""
        return record_and_claim(self.engine, rec, at)
