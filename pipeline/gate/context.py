"""Everything a rule may look at, gathered once per document: the normalized document, the vendor and
PO records from reference data, earlier documents that may be duplicates, and the injected 'today'."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from pipeline.contracts import NormalizedDocument, NormalizedField, POMatch
from pipeline.refdata.records import DocumentIndexEntry, PORecord, VendorRecord

DOC_DATE_FIELDS = ("invoice_date", "date")
INVOICE_NUMBER_FIELDS = ("invoice_number",)


@dataclass(frozen=True)
class GateContext:
    doc: NormalizedDocument
    today: date
    document_id: str = ""
    vendor: VendorRecord | None = None
    po: PORecord | None = None
    po_match: POMatch | None = None
    duplicates: tuple[DocumentIndexEntry, ...] = field(default=())

    def field(self, name: str) -> NormalizedField | None:
        return self.doc.fields.get(name)

    def value(self, name: str) -> str | None:
        f = self.doc.fields.get(name)
        return f.value if f is not None and f.valid else None

    def amount(self, name: str) -> Decimal | None:
        return self.doc.amount(name)

    def date_of(self, name: str) -> date | None:
        v = self.value(name)
        try:
            return date.fromisoformat(v) if v else None
        except ValueError:
            return None

    @property
    def doc_date(self) -> date | None:
        return next((d for d in (self.date_of(n) for n in DOC_DATE_FIELDS) if d is not None), None)

    @property
    def invoice_number(self) -> str | None:
        return next((v for v in (self.value(n) for n in INVOICE_NUMBER_FIELDS) if v), None)


def index_entry(document_id: str, doc: NormalizedDocument) -> DocumentIndexEntry:
    """The duplicate-detection key of a document (what the document index stores)."""
    ctx = GateContext(doc=doc, today=date.min, document_id=document_id)
    return DocumentIndexEntry(
        document_id=document_id,
        vendor_id=doc.vendor.vendor_id if doc.vendor else None,
        invoice_number=ctx.invoice_number,
        amount=ctx.amount("total"),
        doc_date=ctx.doc_date,
        currency=doc.currency,
    )
