from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import Settings
from pipeline.contracts import ApprovedDocument, Outcome, Rejection, StageStatus
from pipeline.review import demo
from pipeline.review.intake import enqueue
from pipeline.review.models import AuditRecord, Item
from pipeline.review.stage import build_stage
from pipeline.runtime import LocalRunner
from pipeline.topics import APPROVED, REJECTED, STATUS


def _env(outcome: Outcome, failed: tuple[str, ...] = ("low_confidence",), salt: str = ""):  # type: ignore[no-untyped-def]
    inv = demo.DemoInvoice()
    env = demo.decision_envelope(
        demo.normalized_document(inv, demo.synthetic_blob(3), {}), list(failed), salt=salt
    )
    env.payload.outcome = outcome
    return env


def test_auto_approved_goes_straight_to_erp_with_a_system_approval(settings: Settings) -> None:
    result = LocalRunner(build_stage(settings)).run([_env(Outcome.auto_approved, ())])
    (approved,) = result.on(APPROVED)
    payload = ApprovedDocument.model_validate(approved.payload.model_dump())
    assert payload.straight_through and [a.by for a in payload.approvals] == ["system"]
    assert [StageStatus.model_validate(s.payload.model_dump()).state for s in result.on(STATUS)] == [
        "approved"
    ]
    assert not result.dead_letters


def test_rejected_goes_to_rejected_with_rule_ids(settings: Settings) -> None:
    result = LocalRunner(build_stage(settings)).run([_env(Outcome.rejected, ("duplicate_suspect",))])
    (rejected,) = result.on(REJECTED)
    payload = Rejection.model_validate(rejected.payload.model_dump())
    assert payload.rule_ids == ["duplicate_suspect"] and payload.by == "system"


def test_exception_is_queued_once_even_when_replayed(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    stage = build_stage(settings)
    env = _env(Outcome.exception, ("po_unmatched", "low_confidence"))
    first = LocalRunner(stage).run([env])
    assert not first.on(APPROVED) and not first.on(REJECTED)
    assert [s.payload.state for s in first.on(STATUS)] == ["exception"]
    # a fresh runner has an empty ledger: the replay reaches the handler and must not duplicate
    second = LocalRunner(build_stage(settings)).run([env, env])
    assert "already queued" in second.on(STATUS)[0].payload.detail
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Item)) == 1
        item = db.scalars(select(Item)).one()
        assert item.primary_reason == "po_unmatched" and item.reason_codes == "po_unmatched|low_confidence"
        assert (
            db.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "enqueue"))
            == 1
        )


def test_a_new_decision_for_the_same_document_is_a_new_item_with_a_higher_version(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as db:
        a, created_a = enqueue(db, _env(Outcome.exception, salt="1"), sla_hours=48)
        b, created_b = enqueue(db, _env(Outcome.exception, salt="2"), sla_hours=48)
    assert created_a and created_b and a != b
    with sessions() as db:
        assert [i.document_version for i in db.scalars(select(Item).order_by(Item.id))] == [1, 2]


def test_undecodable_decision_is_dead_lettered(settings: Settings) -> None:
    result = LocalRunner(build_stage(settings)).run([b'{"schema_version": "1.0", "payload": {}}'])
    assert len(result.dead_letters) == 2 and not result.emitted  # DLQ event + its status
