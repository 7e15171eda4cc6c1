from __future__ import annotations

from pipeline.contracts import DocKind
from pipeline.extract.classify import classify_text
from tests.unit.extract.conftest import RECEIPT_LINES


def test_tax_invoice_receipts_stay_receipts() -> None:
    assert classify_text("\n".join(RECEIPT_LINES))[0] == DocKind.receipt


def test_supplier_invoices_are_invoices() -> None:
    text = "ACME GmbH\nInvoice No: INV-2024-0042\nBill To: Example Ltd\nDue Date: 2024-05-31\nIBAN DE89"
    kind, margin = classify_text(text)
    assert kind == DocKind.invoice and margin > 3


def test_empty_text_defaults_to_receipt() -> None:
    assert classify_text("") == (DocKind.receipt, 0)
