"""Realistic example events of the ERP contracts (schemas/examples/, docs, tests and load runs).

Deterministic for a given seed/index, so example files and test fixtures are reproducible.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pipeline.contracts import (
    Approval,
    ApprovedDocument,
    BlobRef,
    Correction,
    DocKind,
    Envelope,
    Feedback,
    ModelRef,
    NormalizedLineItem,
    PolicyRef,
    POMatch,
    Producer,
    PromptSetRef,
    Rejection,
    Versions,
    deterministic_event_id,
)
from pipeline.topics import APPROVED, FEEDBACK, REJECTED

BASE_TIME = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
MODEL = ModelRef(name="docpipe-qa-minilm", version="2026.11.1", variant="int8", checksum="sha256:9f2c41", backend="qa")
PROMPTS = PromptSetRef(name="invoice", version="3", checksum="5d1c0b7e" * 8)
POLICY = PolicyRef(name="ap-default", version="7", checksum="a3b4c5d6" * 8)
VENDORS = [
    ("V-1001", "Acme Office Supplies GmbH", "DE811907980", "DE89370400440532013000", "EUR"),
    ("V-1002", "Nordlicht Logistik AG", "DE129273398", "DE02120300000000202051", "EUR"),
    ("V-2001", "Brightline Stationers Ltd", "GB980780684", "GB33BUKB20201555555555", "GBP"),
    ("V-3001", "Pacific Paper Co.", "US-94-1234567", None, "USD"),
]


def document_id(n: int, salt: str = "") -> str:
    return hashlib.sha256(f"docpipe-example-{salt}-{n}".encode()).hexdigest()


def _blob(doc_id: str, n: int) -> BlobRef:
    return BlobRef(
        uri=f"file:///var/docpipe/blobs/{doc_id[:2]}/{doc_id[2:4]}/{doc_id}",
        sha256=doc_id,
        size=20_000 + n % 50_000,
        media_type="application/pdf",
    )


def approved_document(
    n: int,
    *,
    version: int = 1,
    salt: str = "",
    lines: int | None = None,
    straight_through: bool | None = None,
) -> ApprovedDocument:
    rng = random.Random(f"{salt}:{n}:{version}")
    vid, vname, tax_id, iban, currency = VENDORS[n % len(VENDORS)]
    doc_id = document_id(n, salt)
    n_lines = rng.randint(1, 4) if lines is None else lines
    items = []
    for i in range(1, n_lines + 1):
        qty = Decimal(rng.randint(1, 20))
        price = Decimal(rng.randint(100, 99_999)) / 100
        items.append(
            NormalizedLineItem(
                line_no=i,
                sku=f"SKU-{rng.randint(100, 999)}",
                description=f"Item {i} of invoice {n}",
                quantity=qty,
                unit_price=price,
                amount=qty * price,
            )
        )
    subtotal = sum((it.amount or Decimal(0) for it in items), Decimal("0.00"))
    tax = (subtotal * Decimal("0.19")).quantize(Decimal("0.01"))
    issued = date(2026, 11, 1) + timedelta(days=n % 20)
    stp = (n % 3 != 0) if straight_through is None else straight_through
    approvals = (
        [Approval(by="system", role="policy", at=BASE_TIME + timedelta(seconds=n))]
        if stp
        else [
            Approval(
                by="r.meier",
                role="ap_clerk",
                at=BASE_TIME + timedelta(seconds=n, minutes=5),
                comment="checked against PO",
            )
        ]
    )
    if version > 1:
        approvals.append(
            Approval(
                by="s.okafor",
                role="ap_lead",
                at=BASE_TIME + timedelta(hours=version),
                comment=f"re-approved after correction (v{version})",
            )
        )
    po = f"PO-{40000 + n % 997}"
    total = subtotal + tax
    return ApprovedDocument(
        document_version=version,
        kind=DocKind.invoice,
        vendor_id=vid,
        vendor_name=vname,
        vendor_tax_id=tax_id,
        invoice_number=f"INV-{2026}-{n:06d}",
        document_date=issued,
        due_date=issued + timedelta(days=30),
        po_number=po,
        currency=currency,
        subtotal=subtotal,
        tax=tax,
        total=total,
        iban=iban,
        buyer="Docpipe Demo Buyer GmbH",
        fields={
            "vendor": vname,
            "invoice_number": f"INV-{2026}-{n:06d}",
            "invoice_date": issued.isoformat(),
            "currency": currency,
            "total": str(total),
            "po_number": po,
        },
        line_items=items,
        po_match=POMatch(po_number=po, status="matched", three_way=n % 2 == 0, details={"price_variance_pct": "0.0"}),
        approvals=approvals,
        straight_through=stp and version == 1,
        source=_blob(doc_id, n),
        versions=Versions(model=MODEL, prompt_set=PROMPTS, policy=POLICY, normalizer="1"),
    )


def approved_event(n: int, *, version: int = 1, salt: str = "", **kwargs: Any) -> Envelope[ApprovedDocument]:
    doc_id = document_id(n, salt)
    producer = Producer(stage="gate" if version == 1 else "review", version="1")
    return Envelope[ApprovedDocument](
        event_id=deterministic_event_id(doc_id, producer.stage, producer.version, APPROVED, str(version), salt),
        event_type=APPROVED,
        document_id=doc_id,
        correlation_id=f"sub-{doc_id[:16]}",
        causation_id=deterministic_event_id(doc_id, "decided", str(version)),
        producer=producer,
        created_at=BASE_TIME + timedelta(seconds=n, hours=version - 1),
        submitted_at=BASE_TIME + timedelta(seconds=n) - timedelta(minutes=3),
        payload=approved_document(n, version=version, salt=salt, **kwargs),
    )


def rejected_event(n: int, salt: str = "") -> Envelope[Rejection]:
    doc_id = document_id(n, salt)
    producer = Producer(stage="review", version="1")
    return Envelope[Rejection](
        event_id=deterministic_event_id(doc_id, "review", "1", REJECTED, salt),
        event_type=REJECTED,
        document_id=doc_id,
        correlation_id=f"sub-{doc_id[:16]}",
        producer=producer,
        created_at=BASE_TIME + timedelta(minutes=9),
        submitted_at=BASE_TIME,
        payload=Rejection(
            kind=DocKind.invoice,
            reason="Duplicate of invoice INV-2026-000041 already paid",
            rule_ids=["duplicate_invoice"],
            by="r.meier",
            at=BASE_TIME + timedelta(minutes=9),
            source=_blob(doc_id, n),
        ),
    )


def feedback_event(n: int, salt: str = "") -> Envelope[Feedback]:
    doc_id = document_id(n, salt)
    producer = Producer(stage="review", version="1")
    return Envelope[Feedback](
        event_id=deterministic_event_id(doc_id, "review", "1", FEEDBACK, salt),
        event_type=FEEDBACK,
        document_id=doc_id,
        correlation_id=f"sub-{doc_id[:16]}",
        producer=producer,
        created_at=BASE_TIME + timedelta(minutes=7),
        submitted_at=BASE_TIME,
        payload=Feedback(
            kind=DocKind.invoice,
            corrections=[
                Correction(
                    field="invoice_date",
                    before="2026-01-11",
                    after="2026-11-01",
                    source_text="01.11.2026",
                    page=0,
                )
            ],
            reviewer="r.meier",
            at=BASE_TIME + timedelta(minutes=7),
            source=_blob(doc_id, n),
            model=MODEL,
            prompt_set=PROMPTS,
            outcome="approved",
        ),
    )


def dead_letter_example() -> Envelope[Any]:
    """What the webhook sink dead-letters when an endpoint refuses an event (HTTP 422)."""
    import base64

    from pipeline.contracts import DeadLetter
    from pipeline.topics import DLQ

    ev = approved_event(7)
    raw = ev.model_dump_json().encode()
    producer = Producer(stage="erp-webhook", version="1")
    return Envelope[DeadLetter](
        event_id=deterministic_event_id(ev.document_id, "erp-webhook", "1", DLQ, ev.event_id),
        event_type=DLQ,
        document_id=ev.document_id,
        correlation_id=ev.correlation_id,
        causation_id=ev.event_id,
        producer=producer,
        created_at=BASE_TIME + timedelta(minutes=12),
        submitted_at=ev.submitted_at,
        payload=DeadLetter(
            stage="erp-webhook",
            stage_version="1",
            error_kind="handler_error",
            error="endpoint answered HTTP 422",
            error_type="PermanentError",
            source_topic=APPROVED,
            source_partition=2,
            source_offset=1841,
            source_key=ev.document_id,
            original_b64=base64.b64encode(raw).decode(),
            attempts=1,
            failed_at=BASE_TIME + timedelta(minutes=12),
        ),
    )


def example_files() -> dict[str, Envelope[Any]]:
    """File name under schemas/examples/ -> example event."""
    return {
        "docs.approved.example.json": approved_event(1),
        "docs.approved.corrected-v2.example.json": approved_event(3, version=2),
        "docs.rejected.example.json": rejected_event(41),
        "docs.feedback.example.json": feedback_event(12),
        "docs.dlq.erp-webhook.example.json": dead_letter_example(),
    }


def write_examples(directory: str) -> list[str]:
    from pathlib import Path

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, env in example_files().items():
        (out / name).write_text(env.model_dump_json(indent=2) + "\n")
        written.append(str(out / name))
    return written
