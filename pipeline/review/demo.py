"""Synthetic exception decisions with a real rendered document image (demo, tests, benchmark).

`render_invoice` draws an invoice PNG with Pillow and returns the pixel box of every value, so the
decision it builds carries true Provenance boxes; `decision_envelope` wraps it like the gate would.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from pipeline.blobstore import BlobStore
from pipeline.contracts import (
    BBox,
    BlobRef,
    Decision,
    DocKind,
    Envelope,
    ModelRef,
    NormalizedDocument,
    NormalizedField,
    NormalizedLineItem,
    Outcome,
    PolicyRef,
    POMatch,
    Producer,
    PromptSetRef,
    Provenance,
    RuleResult,
    Severity,
    VendorMatch,
    deterministic_event_id,
)
from pipeline.contracts.fieldnames import INVOICE_FIELDS
from pipeline.review.validation import field_type
from pipeline.topics import DECIDED

GATE = Producer(stage="gate", version="demo")
POLICY = PolicyRef(name="default", version="demo", checksum="0" * 64)

RULES: dict[str, tuple[Severity, str, list[str]]] = {
    "low_confidence": (
        Severity.review,
        "The total was read with low confidence (0.62); please check it.",
        ["total"],
    ),
    "po_unmatched": (Severity.review, "PO number not found among open purchase orders.", ["po_number"]),
    "vendor_unknown": (Severity.review, "The vendor is not in the vendor master.", ["vendor"]),
    "amount_over_limit": (
        Severity.dual,
        "The total exceeds the approval limit for a single person.",
        ["total"],
    ),
    "iban_changed": (Severity.dual, "The IBAN differs from the vendor master's bank details.", ["iban"]),
    "duplicate_suspect": (
        Severity.reject,
        "An invoice with the same number and amount was seen 3 days ago.",
        ["invoice_number", "total"],
    ),
}


@dataclass
class DemoInvoice:
    vendor: str = "Acme Office Supplies GmbH"
    vendor_tax_id: str = "DE136695976"
    invoice_number: str = "INV-2026-0042"
    invoice_date: str = "2026-11-02"
    due_date: str = "2026-12-02"
    po_number: str = "PO-7781"
    currency: str = "EUR"
    subtotal: str = "840.00"
    tax: str = "159.60"
    total: str = "999.60"
    iban: str = "DE89370400440532013000"
    buyer: str = "Docpipe Manufacturing Ltd"
    lines: list[tuple[str, str, str, str]] = field(
        default_factory=lambda: [
            ("Paper A4 80g, 5 boxes", "5", "42.00", "210.00"),
            ("Toner cartridge black", "3", "210.00", "630.00"),
        ]
    )

    def header(self) -> dict[str, str]:
        return {
            k: getattr(self, k)
            for k in INVOICE_FIELDS
        }


def render_invoice(inv: DemoInvoice) -> tuple[bytes, dict[str, BBox], tuple[int, int]]:
    """PNG bytes, the box of each header value in pixels, and the page size."""
    width, height = 1240, 1754  # A4 at 150 dpi
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    big, font, small = (ImageFont.load_default(size=s) for s in (44, 26, 22))
    boxes: dict[str, BBox] = {}

    def put(x: int, y: int, label: str, name: str | None, value: str, f: Any = font) -> None:
        draw.text((x, y), label, fill="#555555", font=small)
        vx = x + 260
        draw.text((vx, y), value, fill="black", font=f)
        if name:
            x0, y0, x1, y1 = draw.textbbox((vx, y), value, font=f)
            boxes[name] = BBox(x0=x0 - 4, y0=y0 - 4, x1=x1 + 4, y1=y1 + 4)

    draw.text((80, 70), inv.vendor, fill="black", font=big)
    x0, y0, x1, y1 = draw.textbbox((80, 70), inv.vendor, font=big)
    boxes["vendor"] = BBox(x0=x0 - 4, y0=y0 - 4, x1=x1 + 4, y1=y1 + 4)
    draw.text((80, 130), "Industriestrasse 5, 80331 Muenchen", fill="#333333", font=small)
    draw.text((880, 70), "INVOICE", fill="#1d4ed8", font=big)
    y = 230
    for label, name in (
        ("VAT ID", "vendor_tax_id"),
        ("Invoice no.", "invoice_number"),
        ("Invoice date", "invoice_date"),
        ("Due date", "due_date"),
        ("Your PO", "po_number"),
        ("Bill to", "buyer"),
    ):
        put(80, y, label, name, getattr(inv, name))
        y += 48
    y += 40
    draw.line((80, y, width - 80, y), fill="#999999", width=2)
    y += 16
    for col, text in ((80, "Description"), (700, "Qty"), (820, "Unit price"), (1020, "Amount")):
        draw.text((col, y), text, fill="#555555", font=small)
    y += 44
    for desc, qty, unit, amount in inv.lines:
        for col, text in ((80, desc), (700, qty), (820, unit), (1020, amount)):
            draw.text((col, y), text, fill="black", font=font)
        y += 44
    draw.line((80, y + 10, width - 80, y + 10), fill="#999999", width=2)
    y += 40
    for label, name in (("Subtotal", "subtotal"), ("VAT 19%", "tax"), ("Total", "total")):
        put(700, y, label, name, getattr(inv, name))
        y += 48
    put(700, y, "Currency", "currency", inv.currency)
    y += 110
    put(80, y, "Pay to IBAN", "iban", inv.iban)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=6)
    return buf.getvalue(), boxes, (width, height)


def normalized_document(
    inv: DemoInvoice, blob: BlobRef, boxes: dict[str, BBox], confidences: dict[str, float] | None = None
) -> NormalizedDocument:
    conf = confidences or {}
    fields = {}
    for name, value in inv.header().items():
        box = boxes.get(name)
        fields[name] = NormalizedField(
            name=name,
            raw=value,
            value=value,
            value_type=field_type(name),  # type: ignore[arg-type]
            confidence=conf.get(name, 0.97),
            provenance=[Provenance(page=0, bbox=box, source_text=value)] if box else [],
        )
    items = [
        NormalizedLineItem(line_no=i + 1, description=d, quantity=q, unit_price=u, amount=a)  # type: ignore[arg-type]
        for i, (d, q, u, a) in enumerate(inv.lines)
    ]
    return NormalizedDocument(
        blob=blob,
        kind=DocKind.invoice,
        fields=fields,
        line_items=items,
        currency=inv.currency,
        locale="de_DE",
        vendor=VendorMatch(vendor_id="V-1001", name=inv.vendor, score=97.0, method="tax_id"),
        prompt_set=PromptSetRef(name="invoice", version="demo", checksum="0" * 64),
        model=ModelRef(name="demo-extractor", version="demo"),
    )


def decision_envelope(
    doc: NormalizedDocument,
    failed: list[str],
    *,
    submitted_at: datetime | None = None,
    required_approvals: int = 1,
    salt: str = "",
) -> Envelope[Decision]:
    reasons = [
        RuleResult(
            rule_id=rid,
            description=rid.replace("_", " "),
            severity=RULES[rid][0],
            passed=False,
            message=RULES[rid][1],
            fields=RULES[rid][2],
        )
        for rid in failed
    ]
    reasons.append(
        RuleResult(
            rule_id="currency_known",
            description="currency known",
            severity=Severity.review,
            passed=True,
            message="The currency is a valid ISO 4217 code.",
        )
    )
    decision = Decision(
        outcome=Outcome.exception,
        reasons=reasons,
        policy=POLICY,
        required_approvals=required_approvals,
        po_match=POMatch(
            po_number=doc.fields["po_number"].value if "po_number" in doc.fields else None,
            status="partial",
            three_way=False,
            details={"lines_matched": 1, "lines_total": 2},
        ),
        document=doc,
    )
    at = submitted_at or datetime.now(UTC)
    return Envelope[Decision](
        event_id=deterministic_event_id(doc.blob.sha256, "gate", "demo", DECIDED, salt),
        event_type=DECIDED,
        document_id=doc.blob.sha256,
        correlation_id=deterministic_event_id(doc.blob.sha256, "submit", salt),
        producer=GATE,
        created_at=at,
        submitted_at=at,
        payload=decision,
    )


def store_invoice(blobs: BlobStore, inv: DemoInvoice) -> tuple[BlobRef, dict[str, BBox]]:
    png, boxes, _ = render_invoice(inv)
    put = blobs.put(png)
    return BlobRef(uri=put.uri, sha256=put.sha256, size=put.size, media_type="image/png"), boxes


def synthetic_blob(n: int) -> BlobRef:
    """A blob reference without bytes (benchmark rows: the queue page never opens the blob)."""
    digest = hashlib.sha256(f"bench-{n}".encode()).hexdigest()
    return BlobRef(uri=f"file:///nonexistent/{digest}", sha256=digest, size=1, media_type="image/png")


def hours_ago(h: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=h)
