"""Transactional outbox: outgoing events are rows written in the decision's own DB transaction.

The stored value is the complete envelope JSON (deterministic event id included), so whatever the
relay publishes after any crash is byte-for-byte the same event; consumers dedupe on event_id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipeline.review.models import OutboxEvent
from pipeline.runtime import Emit


def add(db: Session, emits: Sequence[Emit], now: datetime | None = None) -> None:
    """Stage events in the caller's transaction (the caller commits them with the decision)."""
    now = now or datetime.now(UTC)
    for e in emits:
        db.add(
            OutboxEvent(
                event_id=e.event.event_id,
                topic=e.topic,
                key=e.event.document_id,
                value=e.event.model_dump_json(),
                created_at=now,
                attempts=0,
            )
        )
    db.flush()


def pending(db: Session, limit: int) -> list[OutboxEvent]:
    return list(
        db.scalars(
            select(OutboxEvent).where(OutboxEvent.sent_at.is_(None)).order_by(OutboxEvent.id).limit(limit)
        )
    )


def mark_sent(db: Session, ids: Sequence[int], now: datetime | None = None) -> None:
    if ids:
        db.execute(
            update(OutboxEvent).where(OutboxEvent.id.in_(list(ids))).values(sent_at=now or datetime.now(UTC))
        )
