"""Builders for extraction payloads and reference data used across normalize/gate tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pipeline.contracts import (
    BlobRef,
    DocKind,
    ExtractedField,
    ExtractedLineItem,
    Extraction,
    ModelRef,
    PromptSetRef,
)
from pipeline.refdata.records import POLineRecord, PORecord, ReceiptRecord, VendorRecord
from pipeline.refdata.snapshot import RefSnapshot

BLOB = BlobRef(uri="file:///tmp/x", sha256="a" * 64, size=10, media_type="application/pdf")
PROMPTS = PromptSetRef(name="invoice", version="1", checksum="c" * 64)
MODEL = ModelRef(name="test-model", version="1")

ACME = VendorRecord(
    vendor_id="V001",
    name="ACME Industrial Supplies GmbH",
    aliases=("ACME Supplies",),
    country="DE",
    locale="de_DE",
    currency="EUR",
    tax_id="DE136695976",
    ibans=("DE89370400440532013000",),
    active=True,
)
GLOBEX = VendorRecord(
    vendor_id="V002",
    name="Globex Corporation",
    aliases=("Globex",),
    country="US",
    locale="en_US",
    currency="USD",
    tax_id=None,
    ibans=(),
    active=True,
)
INITECH = VendorRecord(
    vendor_id="V003", name="Initech Ltd", country="GB", locale="en_GB", currency="GBP", active=False
)
TWIN_A = VendorRecord(
    vendor_id="V010", name="Northwind Traders", country="US", locale="en_US", currency="USD"
)
TWIN_B = VendorRecord(
    vendor_id="V011", name="Northwind Traders", country="US", locale="en_US", currency="USD"
)

PO_1001 = PORecord(
    po_number="PO-1001",
    vendor_id="V001",
    currency="EUR",
    order_date=date(2026, 10, 1),
    lines=(
        POLineRecord(1, "SKU-1", "Steel bolts M8", Decimal("100"), Decimal("2.50"), date(2026, 11, 20)),
        POLineRecord(2, "SKU-2", "Hex nuts M8", Decimal("200"), Decimal("0.40"), date(2026, 11, 20)),
    ),
    receipts=(
        ReceiptRecord("GR-1", "PO-1001", 1, Decimal("100"), date(2026, 11, 15)),
        ReceiptRecord("GR-1", "PO-1001", 2, Decimal("200"), date(2026, 11, 15)),
    ),
)


def ref(*vendors: VendorRecord, pos: tuple[PORecord, ...] = (PO_1001,)) -> RefSnapshot:
    return RefSnapshot.of(vendors or (ACME, GLOBEX, INITECH), pos)


def extraction(
    kind: DocKind = DocKind.invoice,
    confidence: float = 0.99,
    line_items: list[dict] | None = None,
    structured: dict | None = None,
    **fields: str | None,
) -> Extraction:
    return Extraction(
        blob=BLOB,
        kind=kind,
        prompt_set=PROMPTS,
        model=MODEL,
        fields={
            k: ExtractedField(
                name=k, value=v, confidence=confidence, status="found" if v is not None else "absent"
            )
            for k, v in fields.items()
        },
        line_items=[ExtractedLineItem(**li, confidence=confidence) for li in (line_items or [])],
        structured=structured,
    )


def acme_invoice(**over: str | None) -> Extraction:
    fields: dict[str, str | None] = {
        "vendor": "ACME Industrial Supplies GmbH",
        "vendor_tax_id": "DE136695976",
        "invoice_number": "INV-77",
        "invoice_date": "15.11.2026",
        "due_date": "15.12.2026",
        "po_number": "PO-1001",
        "currency": "EUR",
        "subtotal": "330,00",
        "tax": "62,70",
        "total": "392,70",
        "iban": "DE89 3704 0044 0532 0130 00",
        "buyer": "Example Buyer AG",
    }
    fields.update(over)
    items = [
        {"description": "Steel bolts M8", "quantity": "100", "unit_price": "2,50", "amount": "250,00"},
        {"description": "Hex nuts M8", "quantity": "200", "unit_price": "0,40", "amount": "80,00"},
    ]
    return extraction(line_items=items, **fields)
