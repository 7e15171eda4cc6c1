"""Reviewer actions: claim, release, view, edit, comment, approve, reject.

Each action is one DB transaction (the caller's `Session.begin()`): a conditional UPDATE that only
matches if the actor holds a live claim on the item at the version they saw, then the audit record
and, for decisions, the outbox events. When the UPDATE matches nothing, the item is untouched and
`_diagnose` explains why (already decided, claimed by someone else, claim expired, stale version).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from pipeline.contracts import Approval, Correction, Decision, Envelope, Producer, StageStatus
from pipeline.refdata import claims
from pipeline.review import audit, counts, outbox
from pipeline.review.approval import PayloadError, build_approved, build_feedback, build_rejection
from pipeline.review.dual import dual_control_reasons
from pipeline.review.errors import Conflict, Denied, Invalid, NotFound
from pipeline.review.models import Comment, Item, State, User
from pipeline.review.permissions import Perm, permissions_of
from pipeline.review.validation import EDITABLE_FIELDS, FieldValidationError, validate_field
from pipeline.runtime import Emit
from pipeline.topics import APPROVED, FEEDBACK, REJECTED, STATUS

PRODUCER = Producer(stage="review", version="1")
MAX_COMMENT = 2000
MAX_REASON = 1000


@dataclass(frozen=True)
class Actor:
    id: int
    username: str
    roles: frozenset[str]

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.id, user.username, user.role_set)

    def can(self, perm: Perm) -> bool:
        return perm in permissions_of(self.roles)

    @property
    def role(self) -> str:
        for r in ("admin", "approver", "reviewer", "auditor"):
            if r in self.roles:
                return r
        return "none"


def decision_of(item: Item) -> Envelope[Decision]:
    return Envelope[Decision].model_validate_json(item.payload.decision_envelope)


def corrections_of(item: Item) -> dict[str, Correction]:
    return {k: Correction.model_validate(v) for k, v in json.loads(item.corrections).items()}


def dual_reasons(item: Item, threshold: Decimal) -> list[str]:
    return dual_control_reasons(decision_of(item).payload, corrections_of(item), threshold)


def _rowcount(result: Any) -> int:
    """Rows matched by a conditional UPDATE (the CursorResult behind Session.execute)."""
    return int(cast(CursorResult[Any], result).rowcount)


def _get(db: Session, item_id: int) -> Item:
    item = db.get(Item, item_id, populate_existing=True)
    if item is None:
        raise NotFound("No such item.")
    return item


def _diagnose(db: Session, item_id: int, actor: Actor, version: int | None, now: datetime) -> Conflict:
    item = _get(db, item_id)
    if not item.is_open:
        return Conflict(f"This item was already {item.state}; nothing was changed.")
    if (
        item.claimed_by is not None
        and item.claimed_by != actor.id
        and item.claim_expires_at
        and item.claim_expires_at > now
    ):
        holder = db.get(User, item.claimed_by)
        return Conflict(
            f"{holder.username if holder else 'Someone else'} is working on this item; nothing was changed."
        )
    if item.claimed_by != actor.id or item.claim_expires_at is None or item.claim_expires_at <= now:
        return Conflict(
            "Your claim on this item expired (or you have not claimed it). Claim it again; "
            "nothing was changed."
        )
    if version is not None and item.version != version:
        return Conflict(
            "Someone else changed this item since you opened it; your action was not applied. "
            "The page shows the current values (your input, if any, is kept in the form): review and retry."
        )
    return Conflict("The item could not be changed; nothing was changed.")


def _guarded_update(
    db: Session, item: Item, actor: Actor, version: int, now: datetime, ttl_s: int, values: dict[str, Any]
) -> None:
    """Apply `values` only if the actor holds a live claim at `version`; bumps the version."""
    stmt = (
        update(Item)
        .where(
            Item.id == item.id,
            Item.version == version,
            Item.is_open.is_(True),
            Item.claimed_by == actor.id,
            Item.claim_expires_at > now,
        )
        .values(version=Item.version + 1, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if "claimed_by" not in values:
        stmt = stmt.values(claim_expires_at=now + timedelta(seconds=ttl_s))
    if _rowcount(db.execute(stmt)) != 1:
        raise _diagnose(db, item.id, actor, version, now)


def claim(db: Session, item_id: int, actor: Actor, *, ttl_s: int, now: datetime | None = None) -> Item:
    """Atomically take (or renew) the claim. Exactly one of two concurrent claimers wins."""
    now = now or datetime.now(UTC)
    result = db.execute(
        update(Item)
        .where(
            Item.id == item_id,
            Item.is_open.is_(True),
            or_(Item.claimed_by.is_(None), Item.claimed_by == actor.id, Item.claim_expires_at <= now),
        )
        .values(claimed_by=actor.id, claim_expires_at=now + timedelta(seconds=ttl_s))
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        raise _diagnose(db, item_id, actor, None, now)
    item = _get(db, item_id)
    audit.append(
        db,
        actor=actor.username,
        action="claim",
        item_id=item.id,
        document_id=item.document_id,
        correlation_id=item.correlation_id,
        after={"claim_expires_at": item.claim_expires_at},
        at=now,
    )
    return item


def release(db: Session, item_id: int, actor: Actor, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    result = db.execute(
        update(Item)
        .where(Item.id == item_id, Item.claimed_by == actor.id)
        .values(claimed_by=None, claim_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        raise Conflict("You do not hold a claim on this item.")
    item = _get(db, item_id)
    audit.append(
        db,
        actor=actor.username,
        action="release",
        item_id=item.id,
        document_id=item.document_id,
        correlation_id=item.correlation_id,
        at=now,
    )


def view(db: Session, item_id: int, actor: Actor, now: datetime | None = None) -> Item:
    """Load an item for display and record the view in the audit trail."""
    item = _get(db, item_id)
    audit.append(
        db,
        actor=actor.username,
        action="view",
        item_id=item.id,
        document_id=item.document_id,
        correlation_id=item.correlation_id,
        at=now,
    )
    return item


def edit(
    db: Session,
    item_id: int,
    actor: Actor,
    version: int,
    values: dict[str, str],
    *,
    ttl_s: int,
    now: datetime | None = None,
) -> list[Correction]:
    """Validate and apply field corrections; all or nothing. Returns the corrections that changed."""
    now = now or datetime.now(UTC)
    item = _get(db, item_id)
    env = decision_of(item)
    doc = env.payload.document
    editable = EDITABLE_FIELDS.get(item.kind, ())
    unknown = sorted(set(values) - set(editable))
    if unknown:
        raise Invalid(
            f"These fields cannot be edited for a {item.kind}: {', '.join(u[:40] for u in unknown[:5])}."
        )
    current = corrections_of(item)
    errors: dict[str, str] = {}
    changed: list[Correction] = []
    for name, raw in values.items():
        try:
            value = validate_field(name, raw, locale=doc.locale, currency=doc.currency)
        except FieldValidationError as exc:
            errors[name] = f"{name.replace('_', ' ').capitalize()}: {exc}"
            continue
        field = doc.fields.get(name)
        machine = field.value if field else None
        effective = current[name].after if name in current else machine
        if value == effective:
            continue
        prov = field.provenance[0] if field and field.provenance else None
        changed.append(
            Correction(
                field=name,
                before=machine,
                after=value,
                source_text=prov.source_text if prov else None,
                page=prov.page if prov else None,
            )
        )
    if errors:
        raise Invalid("Some values are not valid; nothing was saved.", field_errors=errors)
    if not changed:
        return []
    merged = dict(current)
    for c in changed:
        if c.after == c.before:
            merged.pop(c.field, None)  # back to the machine's value: no correction
        else:
            merged[c.field] = c
    updates: dict[str, Any] = {
        "corrections": json.dumps({k: v.model_dump(mode="json") for k, v in merged.items()})
    }
    if item.state == State.AWAITING_SECOND:  # the approved content changed: the first approval lapses
        updates.update(state=State.OPEN, first_approval=None, first_approver_id=None)
    if "total" in merged or "total" in current:
        total = (
            merged["total"].after
            if "total" in merged
            else (doc.fields["total"].value if "total" in doc.fields else None)
        )
        try:
            amount: Decimal | None = Decimal(total) if total else None
        except ArithmeticError:
            amount = None
        updates.update(
            amount=amount, amount_key=amount if amount is not None and amount >= 0 else Decimal(-1)
        )
    _guarded_update(db, item, actor, version, now, ttl_s, updates)
    audit.append(
        db,
        actor=actor.username,
        action="edit",
        item_id=item.id,
        document_id=item.document_id,
        correlation_id=item.correlation_id,
        before={c.field: (current[c.field].after if c.field in current else c.before) for c in changed},
        after={c.field: c.after for c in changed},
        at=now,
    )
    if item.state == State.AWAITING_SECOND:
        audit.append(
            db,
            actor=actor.username,
            action="approval_lapsed",
            item_id=item.id,
            document_id=item.document_id,
            correlation_id=item.correlation_id,
            before={"first_approval": json.loads(item.first_approval or "null")},
            at=now,
        )
    return changed


def add_comment(db: Session, item_id: int, actor: Actor, body: str, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    text = body.strip()
    if not text:
        raise Invalid("The comment is empty.")
    if len(text) > MAX_COMMENT:
        raise Invalid(f"Comments are limited to {MAX_COMMENT} characters.")
    item = _get(db, item_id)
    db.add(Comment(item_id=item.id, user_id=actor.id, body=text, created_at=now))
    audit.append(
        db,
        actor=actor.username,
        action="comment",
        item_id=item.id,
        document_id=item.document_id,
        correlation_id=item.correlation_id,
        after={"comment": text},
        at=now,
    )


def _status(env: Envelope[Any], state: str, detail: str, next_topic: str) -> Emit:
    payload = StageStatus(stage="review", state=state, detail=detail, next_topic=next_topic)  # type: ignore[arg-type]
    return Emit(STATUS, env.follow(STATUS, payload, PRODUCER, discriminator=state))


def _bounded(text: str, what: str) -> str:
    """Reviewer free text: stripped and bounded (it goes into events and the audit log)."""
    text = text.strip()
    if len(text) > MAX_REASON:
        raise Invalid(f"The {what} is limited to {MAX_REASON} characters.")
    return text


def _close(
    db: Session,
    item: Item,
    actor: Actor,
    version: int,
    now: datetime,
    ttl_s: int,
    *,
    env: Envelope[Decision],
    state: str,
    outcome: Emit,
    corrections: dict[str, Correction],
    status_detail: str,
    audit_after: dict[str, Any],
) -> None:
    """Close an item as approved or rejected, all in the caller's transaction: the guarded state change,
    the queue count, the outbox events (the outcome, reviewer feedback for retraining, the status) and
    the audit record. One path for both outcomes, so they can never drift apart."""
    before = item.state  # the guarded UPDATE does not refresh the loaded item
    _guarded_update(
        db,
        item,
        actor,
        version,
        now,
        ttl_s,
        {"state": state, "is_open": False, "closed_at": now, "claimed_by": None, "claim_expires_at": None},
    )
    counts.bump(db, item.primary_reason, -1)
    if state == State.REJECTED:
        claims.release(db, item.document_id)  # not payable: its number and PO quantities are free again
    discr = f"v{item.document_version}"
    feedback = build_feedback(
        env.payload.document, list(corrections.values()), reviewer=actor.username, at=now, outcome=state
    )
    outbox.add(
        db,
        [
            outcome,
            Emit(FEEDBACK, env.follow(FEEDBACK, feedback, PRODUCER, discriminator=discr)),
            _status(env, state, status_detail, outcome.topic),
        ],
        now,
    )
    audit.append(
        db,
        actor=actor.username,
        action="approve" if state == State.APPROVED else "reject",
        item_id=item.id,
        document_id=item.document_id,
        correlation_id=item.correlation_id,
        before={"state": before},
        after={"state": state, **audit_after},
        at=now,
    )


def approve(
    db: Session,
    item_id: int,
    actor: Actor,
    version: int,
    comment: str,
    *,
    threshold: Decimal,
    ttl_s: int,
    now: datetime | None = None,
) -> str:
    """First or final approval. Returns 'awaiting_second' or 'approved'."""
    now = now or datetime.now(UTC)
    comment = _bounded(comment, "comment")
    item = _get(db, item_id)
    env = decision_of(item)
    corrections = corrections_of(item)
    reasons = dual_control_reasons(env.payload, corrections, threshold)
    mine = Approval(by=actor.username, role=actor.role, at=now, comment=comment or None)
    if item.state == State.AWAITING_SECOND:
        if not actor.can(Perm.item_approve_second):
            raise Denied("The second approval needs an approver.")
        if item.first_approver_id == actor.id:
            raise Denied("You gave the first approval; a different approver must give the second.")
        approvals = [Approval.model_validate_json(item.first_approval or "{}"), mine]
    elif reasons:
        _guarded_update(
            db,
            item,
            actor,
            version,
            now,
            ttl_s,
            {
                "state": State.AWAITING_SECOND,
                "first_approval": mine.model_dump_json(),
                "first_approver_id": actor.id,
                "claimed_by": None,
                "claim_expires_at": None,
            },
        )
        audit.append(
            db,
            actor=actor.username,
            action="approve_first",
            item_id=item.id,
            document_id=item.document_id,
            correlation_id=item.correlation_id,
            after={"comment": comment, "dual_control": reasons},
            at=now,
        )
        return State.AWAITING_SECOND
    else:
        approvals = [mine]
    try:
        payload = build_approved(env.payload.document, env.payload, approvals, corrections, item.document_version)
    except PayloadError as exc:
        raise Invalid(f"Cannot approve: {exc}. Correct the field first.") from None
    _close(
        db,
        item,
        actor,
        version,
        now,
        ttl_s,
        env=env,
        state=State.APPROVED,
        outcome=Emit(APPROVED, env.follow(APPROVED, payload, PRODUCER, discriminator=f"v{item.document_version}")),
        corrections=corrections,
        status_detail=f"approved by {', '.join(a.by for a in approvals)}",
        audit_after={
            "approvals": [a.by for a in approvals],
            "comment": comment,
            "corrections": {k: v.after for k, v in corrections.items()},
        },
    )
    return State.APPROVED


def reject(
    db: Session,
    item_id: int,
    actor: Actor,
    version: int,
    reason: str,
    *,
    ttl_s: int,
    now: datetime | None = None,
) -> None:
    now = now or datetime.now(UTC)
    reason = _bounded(reason, "reason")
    if not reason:
        raise Invalid("A rejection needs a reason.")
    item = _get(db, item_id)
    env = decision_of(item)
    rejection = build_rejection(env.payload, reason=reason, by=actor.username, at=now)
    _close(
        db,
        item,
        actor,
        version,
        now,
        ttl_s,
        env=env,
        state=State.REJECTED,
        outcome=Emit(REJECTED, env.follow(REJECTED, rejection, PRODUCER, discriminator=f"v{item.document_version}")),
        corrections=corrections_of(item),
        status_detail=f"rejected by {actor.username}",
        audit_after={"reason": reason},
    )


def comments_of(db: Session, item_id: int) -> list[tuple[Comment, str]]:
    rows = db.execute(
        select(Comment, User.username)
        .join(User, User.id == Comment.user_id)
        .where(Comment.item_id == item_id)
        .order_by(Comment.id)
    ).all()
    return [(c, u) for c, u in rows]
