"""The field names shared by prompts, ground truth, normalizers, the gate, review and the ERP contract."""

from __future__ import annotations

RECEIPT_FIELDS: tuple[str, ...] = ("merchant", "merchant_address", "date", "total", "tax", "currency")
INVOICE_FIELDS: tuple[str, ...] = (
    "vendor",
    "vendor_tax_id",
    "invoice_number",
    "invoice_date",
    "due_date",
    "po_number",
    "currency",
    "subtotal",
    "tax",
    "total",
    "iban",
    "buyer",
)
PO_CHANGE_FIELDS: tuple[str, ...] = ("po_number", "change_number", "changed_lines")

FIELDS_BY_KIND: dict[str, tuple[str, ...]] = {
    "receipt": RECEIPT_FIELDS,
    "invoice": INVOICE_FIELDS,
    "po_change": PO_CHANGE_FIELDS,
}
