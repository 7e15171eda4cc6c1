from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.contracts import ApprovedDocument, Envelope, Feedback, Rejection
from pipeline.review import audit, service
from pipeline.review.errors import Conflict, Denied, Invalid
from pipeline.review.models import Item, OutboxEvent, State
from pipeline.topics import APPROVED, FEEDBACK, REJECTED, STATUS
from tests.review_support import race_claims

TTL = 600
LIMIT = Decimal("10000")


def _item(sessions: sessionmaker[Session], item_id: int) -> Item:
    with sessions() as db:
        item = db.get(Item, item_id)
        assert item is not None
        return item


def _claim(
    sessions: sessionmaker[Session], item_id: int, actor: service.Actor, now: datetime | None = None
) -> int:
    with sessions.begin() as db:
        return service.claim(db, item_id, actor, ttl_s=TTL, now=now).version


def _outbox(sessions: sessionmaker[Session]) -> dict[str, Envelope[dict]]:  # type: ignore[type-arg]
    with sessions() as db:
        return {o.topic: Envelope[dict].model_validate_json(o.value) for o in db.scalars(select(OutboxEvent))}


def test_two_reviewers_claiming_at_once_exactly_one_wins(sessions, actors, make_item) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        item_id, _ = make_item()
        results = race_claims(sessions, item_id, [actors["reviewer"], actors["reviewer2"]])
        winners = [r for r in results if isinstance(r, str)]
        assert len(winners) == 1, results
        assert (
            _item(sessions, item_id).claimed_by
            == {"reviewer": actors["reviewer"].id, "reviewer2": actors["reviewer2"].id}[winners[0]]
        )


def test_an_abandoned_claim_expires_and_can_be_taken(sessions, actors, make_item) -> None:  # type: ignore[no-untyped-def]
    item_id, _ = make_item()
    t0 = datetime.now(UTC)
    _claim(sessions, item_id, actors["reviewer"], t0)
    with pytest.raises(Conflict, match="reviewer is working on this item"), sessions.begin() as db:
        service.claim(db, item_id, actors["reviewer2"], ttl_s=TTL, now=t0 + timedelta(seconds=TTL - 1))
    _claim(sessions, item_id, actors["reviewer2"], t0 + timedelta(seconds=TTL + 1))
    assert _item(sessions, item_id).claimed_by == actors["reviewer2"].id


def test_edit_with_expired_claim_is_refused_and_changes_nothing(sessions, actors, make_item) -> None:  # type: ignore[no-untyped-def]
    item_id, _ = make_item()
    t0 = datetime.now(UTC) - timedelta(seconds=TTL + 5)
    version = _claim(sessions, item_id, actors["reviewer"], t0)
    with pytest.raises(Conflict, match="claim on this item expired"), sessions.begin() as db:
        service.edit(db, item_id, actors["reviewer"], version, {"total": "5.00"}, ttl_s=TTL)
    assert _item(sessions, item_id).corrections == "{}"


def test_stale_edit_is_refused_and_the_newer_value_kept(sessions, actors, make_item) -> None:  # type: ignore[no-untyped-def]
    item_id, _ = make_item()
    version = _claim(sessions, item_id, actors["reviewer"])
    with sessions.begin() as db:
        service.edit(db, item_id, actors["reviewer"], version, {"total": "1000.00"}, ttl_s=TTL)
    with pytest.raises(Conflict, match="changed this item since you opened it"), sessions.begin() as db:
        service.edit(db, item_id, actors["reviewer"], version, {"total": "2000.00"}, ttl_s=TTL)
    item = _item(sessions, item_id)
    assert json.loads(item.corrections)["total"]["after"] == "1000.00" and item.amount == Decimal("1000.00")


def test_invalid_values_save_nothing_and_name_each_field(sessions, actors, make_item) -> None:  # type: ignore[no-untyped-def]
    item_id, _ = make_item()
    version = _claim(sessions, item_id, actors["reviewer"])
    with pytest.raises(Invalid) as err, sessions.begin() as db:
        service.edit(
            db,
            item_id,
            actors["reviewer"],
            version,
            {"total": "12.3.4", "invoice_date": "2026-13-01", "vendor": "ok"},
            ttl_s=TTL,
        )
    assert set(err.value.field_errors) == {"total", "invoice_date"}
    assert _item(sessions, item_id).version == version
    with pytest.raises(Invalid, match="cannot be edited"), sessions.begin() as db:
        service.edit(db, item_id, actors["reviewer"], version, {"password": "x"}, ttl_s=TTL)


def test_single_control_approval_writes_decision_and_events_together(sessions, actors, make_item) -> None:  # type: ignore[no-untyped-def]
    item_id, env = make_item()
    version = _claim(sessions, item_id, actors["reviewer"])
    with sessions.begin() as db:
        service.edit(db, item_id, actors["reviewer"], version, {"total": "1,000.60"}, ttl_s=TTL)
    with sessions.begin() as db:
        assert (
            service.approve(
                db, item_id, actors["reviewer"], version + 1, "looks right", threshold=LIMIT, ttl_s=TTL
            )
            == State.APPROVED
        )
    item = _item(sessions, item_id)
    assert item.state == State.APPROVED and not item.is_open and item.claimed_by is None
    events = _outbox(sessions)
    assert set(events) == {APPROVED, FEEDBACK, STATUS}
    approved = ApprovedDocument.model_validate(events[APPROVED].payload)
    assert approved.total == Decimal("1000.60") and [a.by for a in approved.approvals] == ["reviewer"]
    assert (
        events[APPROVED].causation_id == env.event_id
        and events[APPROVED].correlation_id == env.correlation_id
    )
    feedback = Feedback.model_validate(events[FEEDBACK].payload)
    assert [(c.field, c.before, c.after) for c in feedback.corrections] == [("total", "999.60", "1000.60")]
    with sessions() as db:
        assert audit.verify_chain(db).ok


def test_dual_control_needs_a_second_different_approver(sessions, actors, make_item) -> None:  # type: ignore[no-untyped-def]
    item_id, _ = make_item(("low_confidence",), total="25000.00")
    version = _claim(sessions, item_id, actors["approver"])
    with sessions.begin() as db:
        assert (
            service.approve(db, item_id, actors["approver"], version, "", threshold=LIMIT, ttl_s=TTL)
            == State.AWAITING_SECOND
        )
    assert _outbox(sessions) == {}
    item = _item(sessions, item_id)
    assert item.state == State.AWAITING_SECOND and item.is_open and item.claimed_by is None
    # the first approver cannot give the second approval
    version = _claim(sessions, item_id, actors["approver"])
    with pytest.raises(Denied, match="different approver"), sessions.begin() as db:
        service.approve(db, item_id, actors["approver"], version, "", threshold=LIMIT, ttl_s=TTL)
    with sessions.begin() as db:
        service.release(db, item_id, actors["approver"])
    # a reviewer may not give a second approval at all
    version = _claim(sessions, item_id, actors["reviewer"])
    with pytest.raises(Denied, match="needs an approver"), sessions.begin() as db:
        service.approve(db, item_id, actors["reviewer"], version, "", threshold=LIMIT, ttl_s=TTL)
    with sessions.begin() as db:
        service.release(db, item_id, actors["reviewer"])
    version = _claim(sessions, item_id, actors["approver2"])
    with sessions.begin() as db:
        assert (
            service.approve(db, item_id, actors["approver2"], version, "ok", threshold=LIMIT, ttl_s=TTL)
            == State.APPROVED
        )
    approved = ApprovedDocument.model_validate(_outbox(sessions)[APPROVED].payload)
    assert [a.by for a in approved.approvals] == ["approver", "approver2"]


def test_editing_after_the_first_approval_voids_it(sessions, actors, make_item) -> None:  # type: ignore[no-untyped-def]
    item_id, _ = make_item(("iban_changed",))
    version = _claim(sessions, item_id, actors["reviewer"])
    with sessions.begin() as db:
        service.approve(db, item_id, actors["reviewer"], version, "", threshold=LIMIT, ttl_s=TTL)
    version = _claim(sessions, item_id, actors["approver"])
    with sessions.begin() as db:
        service.edit(db, item_id, actors["approver"], version, {"iban": "DE02120300000000202051"}, ttl_s=TTL)
    item = _item(sessions, item_id)
    assert item.state == State.OPEN and item.first_approval is None and item.first_approver_id is None


def test_reject_needs_a_reason_and_emits_rejection(sessions, actors, make_item) -> None:  # type: ignore[no-untyped-def]
    item_id, _ = make_item(("duplicate_suspect",))
    version = _claim(sessions, item_id, actors["reviewer"])
    with pytest.raises(Invalid, match="needs a reason"), sessions.begin() as db:
        service.reject(db, item_id, actors["reviewer"], version, "  ", ttl_s=TTL)
    with sessions.begin() as db:
        service.reject(db, item_id, actors["reviewer"], version, "duplicate of INV-41", ttl_s=TTL)
    rej = Rejection.model_validate(_outbox(sessions)[REJECTED].payload)
    assert rej.reason == "duplicate of INV-41" and rej.by == "reviewer"
    with pytest.raises(Conflict, match="already rejected"), sessions.begin() as db:
        service.claim(db, item_id, actors["reviewer2"], ttl_s=TTL)


def test_every_action_is_in_the_audit_trail_with_before_and_after(sessions, actors, make_item) -> None:  # type: ignore[no-untyped-def]
    item_id, env = make_item()
    with sessions.begin() as db:
        service.view(db, item_id, actors["auditor"])
    version = _claim(sessions, item_id, actors["reviewer"])
    with sessions.begin() as db:
        service.edit(db, item_id, actors["reviewer"], version, {"total": "1.00"}, ttl_s=TTL)
        service.add_comment(db, item_id, actors["reviewer"], "checked with vendor")
    from pipeline.review.models import AuditRecord

    with sessions() as db:
        recs = db.scalars(
            select(AuditRecord).where(AuditRecord.item_id == item_id).order_by(AuditRecord.seq)
        ).all()
    assert [(r.actor, r.action) for r in recs] == [
        ("system", "enqueue"),
        ("auditor", "view"),
        ("reviewer", "claim"),
        ("reviewer", "edit"),
        ("reviewer", "comment"),
    ]
    edit = recs[3]
    assert json.loads(edit.before) == {"total": "999.60"} and json.loads(edit.after) == {"total": "1.00"}
    assert all(r.correlation_id == env.correlation_id for r in recs)


def test_rejecting_frees_the_documents_duplicate_claims_and_po_billing(engine, sessions, actors, make_item) -> None:  # type: ignore[no-untyped-def]
    """A rejected invoice is not paid: its number and PO quantities must not block a corrected re-issue."""
    from datetime import date
    from decimal import Decimal

    from pipeline.refdata.claims import GateRecord, record_and_claim
    from pipeline.refdata.models import DuplicateClaim, POLineBilling
    from pipeline.refdata.records import DocumentIndexEntry

    item_id, env = make_item(("duplicate_suspect",))
    entry = DocumentIndexEntry(env.document_id, "V001", "INV-41", Decimal("10.00"), date(2026, 11, 1), "EUR")
    record_and_claim(engine, GateRecord(entry, "invoice", "PO-1", {1: Decimal(3)}))
    other = DocumentIndexEntry("f" * 64, "V001", "INV-99", Decimal("99.00"), date(2026, 11, 2), "EUR")
    record_and_claim(engine, GateRecord(other, "invoice", "PO-1", {1: Decimal(1)}))
    version = _claim(sessions, item_id, actors["reviewer"])
    with sessions.begin() as db:
        service.reject(db, item_id, actors["reviewer"], version, "wrong price, vendor re-issues", ttl_s=TTL)
    with sessions() as db:
        owners = set(db.scalars(select(DuplicateClaim.document_id)))
        billed = set(db.scalars(select(POLineBilling.document_id)))
    assert env.document_id not in owners | billed and owners == billed == {"f" * 64}
