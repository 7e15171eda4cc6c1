"""Put an exception decision into the queue, idempotently (unique on document id + decision event id)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pipeline.contracts import Decision, Envelope
from pipeline.review import audit, counts
from pipeline.review.approval import VENDOR_FIELD, failed_rules
from pipeline.review.models import Item, ItemPayload, State


def queue_columns(env: Envelope[Decision], sla_hours: float) -> dict[str, Any]:
    """The denormalised queue columns of one decision (pure)."""
    decision: Decision = env.payload
    doc = decision.document
    failed = failed_rules(decision)
    vendor_field = VENDOR_FIELD.get(doc.kind)
    vendor = (doc.vendor.name if doc.vendor and doc.vendor.name else None) or (
        doc.fields[vendor_field].value if vendor_field and vendor_field in doc.fields else None
    )
    total = doc.fields["total"].value if "total" in doc.fields else None
    try:
        amount = Decimal(total) if total else None
        if amount is not None and (not amount.is_finite() or abs(amount) >= Decimal("1e13")):
            amount = None
    except InvalidOperation:
        amount = None
    received = env.submitted_at.astimezone(UTC)
    return {
        "kind": doc.kind.value,
        "primary_reason": failed[0].rule_id[:128] if failed else "",
        "reason_codes": "|".join(r.rule_id for r in failed),
        "vendor_name": vendor[:256] if vendor else None,
        "vendor_key": (vendor or "")[:256].casefold(),
        "amount": amount,
        "amount_key": amount if amount is not None and amount >= 0 else Decimal(-1),
        "currency": (doc.fields["currency"].value if "currency" in doc.fields else None) or doc.currency,
        "received_at": received,
        "sla_due_at": received + timedelta(hours=sla_hours),
    }


def enqueue(
    db: Session, env: Envelope[Decision], *, sla_hours: float, now: datetime | None = None
) -> tuple[int, bool]:
    """Insert the queue item unless it exists; return (item id, created). The caller commits."""
    now = now or datetime.now(UTC)
    prior = (
        db.scalar(
            select(func.count())
            .select_from(Item)
            .where(Item.document_id == env.document_id, Item.decision_event_id != env.event_id)
        )
        or 0
    )
    columns = queue_columns(env, sla_hours)
    if columns["currency"] and len(columns["currency"]) != 3:
        columns["currency"] = None
    values = {
        "document_id": env.document_id,
        "decision_event_id": env.event_id,
        "correlation_id": env.correlation_id[:128],
        "tenant": env.tenant,
        "state": State.OPEN,
        "is_open": True,
        "version": 1,
        "document_version": prior + 1,
        "corrections": "{}",
        "created_at": now,
        "updated_at": now,
        **columns,
    }
    dialect = db.get_bind().dialect.name
    insert: Any = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
    if insert is None:
        raise RuntimeError(f"review store supports sqlite and postgresql, not {dialect}")
    stmt = (
        insert(Item)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["document_id", "decision_event_id"])
        .returning(Item.id)
    )
    new_id = db.execute(stmt).scalar_one_or_none()  # RETURNING yields no row when the item existed
    created = new_id is not None
    item_id = (
        new_id
        if created
        else db.scalar(
            select(Item.id).where(Item.document_id == env.document_id, Item.decision_event_id == env.event_id)
        )
    )
    assert item_id is not None
    if created:
        db.add(ItemPayload(item_id=item_id, decision_envelope=env.model_dump_json()))
        counts.bump(db, columns["primary_reason"], +1)
        audit.append(
            db,
            actor="system",
            action="enqueue",
            item_id=item_id,
            document_id=env.document_id,
            correlation_id=env.correlation_id,
            after={"reasons": columns["reason_codes"].split("|") if columns["reason_codes"] else []},
            at=now,
        )
    return item_id, created
