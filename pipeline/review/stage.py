"""review-intake stage: route gate decisions (docs.decided).

auto_approved -> docs.approved (approvals=[system]); rejected -> docs.rejected; exception -> a queue
item in the review database (idempotent: a replayed decision finds its item and adds nothing) and only
a status event. Human decisions leave later through the outbox relay (pipeline.review.relay).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import Settings
from pipeline.contracts import Approval, Decision, Envelope, Outcome, Producer, StageStatus
from pipeline.review.approval import PayloadError, build_approved, build_rejection, failed_rules
from pipeline.review.intake import enqueue
from pipeline.review.store import open_store, write_tx
from pipeline.runtime import Emit, PermanentError, StageSpec, database_transient
from pipeline.runtime.stage import Handler
from pipeline.topics import APPROVED, DECIDED, REJECTED, STATUS

STAGE_NAME = "review-intake"
STAGE_VERSION = "1"


def _status(env: Envelope[Any], producer: Producer, state: str, detail: str, next_topic: str | None) -> Emit:
    payload = StageStatus(stage=STAGE_NAME, state=state, detail=detail, next_topic=next_topic)  # type: ignore[arg-type]
    return Emit(STATUS, env.follow(STATUS, payload, producer, discriminator=state))


def make_handler(sessions: sessionmaker[Session], sla_hours: float, producer: Producer) -> Handler:
    def handle(env: Envelope[Any]) -> Sequence[Emit]:
        decision: Decision = env.payload
        doc = decision.document
        if len(env.event_id) > 64:
            raise PermanentError("decision event id is longer than 64 characters")
        if decision.outcome == Outcome.auto_approved:
            system = Approval(by="system", role="system", at=env.created_at)
            try:
                payload = build_approved(doc, decision, [system], (), 1)
            except PayloadError as exc:
                raise PermanentError(f"cannot build ERP payload: {exc}") from None
            return [
                Emit(APPROVED, env.follow(APPROVED, payload, producer)),
                _status(env, producer, "approved", "straight-through", APPROVED),
            ]
        if decision.outcome == Outcome.rejected:
            failed = failed_rules(decision)
            reason = "; ".join(r.message for r in failed)[:2000] or "rejected by policy"
            rejection = build_rejection(decision, reason=reason, by="system", at=env.created_at)
            return [
                Emit(REJECTED, env.follow(REJECTED, rejection, producer)),
                _status(env, producer, "rejected", ",".join(r.rule_id for r in failed)[:400], REJECTED),
            ]
        # a concurrent duplicate that lost the unique-key race is retried too: the next attempt finds it
        with database_transient("review database"), write_tx(sessions) as db:
            item_id, created = enqueue(db, env, sla_hours=sla_hours)
        detail = f"queued as item {item_id}" if created else f"already queued as item {item_id}"
        return [_status(env, producer, "exception", detail, None)]

    return handle


def build_stage(settings: Settings) -> StageSpec:
    _, sessions = open_store(settings)
    spec = StageSpec(
        name=STAGE_NAME,
        version=STAGE_VERSION,
        input_topic=DECIDED,
        input_model=Decision,
        handler=lambda env: [],  # replaced below once the producer identity exists
        description="Routes gate decisions: straight-through approvals, rejections, exception queue.",
        output_topics=(APPROVED, REJECTED, STATUS),
    )
    spec.handler = make_handler(sessions, settings.review_sla_hours, spec.producer)
    return spec
