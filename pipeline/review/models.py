"""Review store: users, queue items, comments, the audit chain, the outbox and login failures.

The schema is created by Alembic (migrations/versions/0002_review.py); these models mirror it.
Queue columns used for sorting are NOT NULL (`amount_key`, `vendor_key`, `primary_reason`) so keyset
pagination can use plain composite indexes `(is_open, [primary_reason,] sort column, id)`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from pipeline.db import Base


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out on every backend (SQLite stores naive UTC text, PG timestamptz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# One id type that autoincrements on SQLite (INTEGER PRIMARY KEY) and is 64-bit on PostgreSQL.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# Sortable queue columns -> the index that serves "sort by it", optionally after a reason filter.
SORT_COLUMNS = ("received_at", "amount_key", "vendor_key", "sla_due_at")
# The vendor index also carries the other sort keys: a vendor-prefix filter sorted by SLA/age/amount is
# then answered from the index alone (a range scan + small sort, no table reads).
SORT_EXTRA = {"vendor_key": ("sla_due_at", "received_at", "amount_key")}


class State:
    """Item states. `is_open` is true for OPEN and AWAITING_SECOND (the queue)."""

    OPEN = "open"
    AWAITING_SECOND = "awaiting_second"
    APPROVED = "approved"
    REJECTED = "rejected"
    OPEN_STATES = (OPEN, AWAITING_SECOND)


class User(Base):
    __tablename__ = "review_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(String(128), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    roles: Mapped[str] = mapped_column(String(128), nullable=False, doc="Comma-separated role names.")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    session_version: Mapped[int] = mapped_column(
        Integer, nullable=False, default=1, doc="Bumped to invalidate every session of the user."
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)


class Item(Base):
    """One document waiting for (or done with) a human decision."""

    __tablename__ = "review_items"
    __table_args__ = (
        UniqueConstraint("document_id", "decision_event_id", name="uq_review_items_document_decision"),
        *(
            Index(f"ix_review_items_open_{c}", "is_open", c, "id", *SORT_EXTRA.get(c, ()))
            for c in SORT_COLUMNS
        ),
        *(
            Index(f"ix_review_items_open_reason_{c}", "is_open", "primary_reason", c, "id")
            for c in SORT_COLUMNS
        ),
        Index("ix_review_items_document_id", "document_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(String(64), nullable=False)
    decision_event_id: Mapped[str] = mapped_column(String(64), nullable=False)
    correlation_id: Mapped[str] = mapped_column(String(128), nullable=False)
    tenant: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    state: Mapped[str] = mapped_column(String(32), nullable=False)
    is_open: Mapped[bool] = mapped_column(Boolean, nullable=False)
    primary_reason: Mapped[str] = mapped_column(String(128), nullable=False)
    reason_codes: Mapped[str] = mapped_column(
        Text, nullable=False, doc="Every failed rule id, '|'-separated."
    )
    vendor_name: Mapped[str | None] = mapped_column(String(256))
    vendor_key: Mapped[str] = mapped_column(String(256), nullable=False, doc="lower(vendor_name) or ''.")
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    amount_key: Mapped[Decimal] = mapped_column(Numeric(18, 4), nullable=False, doc="amount or -1 (sorting).")
    currency: Mapped[str | None] = mapped_column(String(3))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    sla_due_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    claimed_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("review_users.id"))
    claim_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    document_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    corrections: Mapped[str] = mapped_column(
        Text, nullable=False, default="{}", doc="field -> correction JSON."
    )
    first_approval: Mapped[str | None] = mapped_column(Text, doc="Approval JSON while awaiting the second.")
    first_approver_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("review_users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    payload: Mapped[ItemPayload] = relationship(lazy="select", uselist=False)


class ItemPayload(Base):
    """The full decision, kept apart so queue rows stay small (queue scans never touch it)."""

    __tablename__ = "review_item_payloads"

    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("review_items.id"), primary_key=True)
    decision_envelope: Mapped[str] = mapped_column(
        Text, nullable=False, doc="The docs.decided envelope (JSON)."
    )


class ReasonCount(Base):
    """Open items per primary reason, maintained in the same transactions that open/close items."""

    __tablename__ = "review_reason_counts"

    reason: Mapped[str] = mapped_column(String(128), primary_key=True)
    open_count: Mapped[int] = mapped_column(BigInteger, nullable=False)


class Comment(Base):
    __tablename__ = "review_comments"
    __table_args__ = (Index("ix_review_comments_item", "item_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("review_items.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("review_users.id"), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class AuditRecord(Base):
    """Append-only, hash-chained. `hash` = sha256(canonical JSON of every other column + prev_hash)."""

    __tablename__ = "review_audit"
    __table_args__ = (Index("ix_review_audit_item", "item_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40), nullable=False, doc="ISO-8601 UTC, exactly as hashed.")
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    item_id: Mapped[int | None] = mapped_column(BigId)
    document_id: Mapped[str | None] = mapped_column(String(64))
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    before: Mapped[str] = mapped_column(Text, nullable=False, doc="Canonical JSON.")
    after: Mapped[str] = mapped_column(Text, nullable=False, doc="Canonical JSON.")
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditHead(Base):
    """Single row: last seq and hash. Updating it first serialises concurrent appends."""

    __tablename__ = "review_audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class OutboxEvent(Base):
    """An event to publish, written in the same transaction as the decision that caused it."""

    __tablename__ = "review_outbox"
    __table_args__ = (Index("ix_review_outbox_pending", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    topic: Mapped[str] = mapped_column(String(128), nullable=False, doc="Logical topic name.")
    key: Mapped[str] = mapped_column(String(64), nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=False, doc="The envelope JSON, published verbatim.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class LoginFailure(Base):
    __tablename__ = "review_login_failures"
    __table_args__ = (
        Index("ix_review_login_failures_user", "username", "at"),
        Index("ix_review_login_failures_ip", "client", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    client: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
