"""Queue and outbox gauges for Prometheus, read from the review database.

The numbers live in the database, not in any one process: a sampler thread re-reads them every
`interval_s` (the same cadence as the workers' lag sampler) with cheap, index-served queries: the
per-reason counter table, and min/count over the `(is_open, sla_due_at|received_at)` and
`(sent_at, id)` indexes. Every replica reports the same values; aggregate with `max`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from pipeline.observability.metrics import METRICS, Metrics
from pipeline.review.models import Item, OutboxEvent, ReasonCount

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueSnapshot:
    open_by_reason: dict[str, int]
    claimed: int
    overdue: int
    oldest_age_s: float


@dataclass(frozen=True)
class OutboxSnapshot:
    pending: int
    oldest_age_s: float


def _age(oldest: datetime | None, now: datetime) -> float:
    if oldest is None:
        return 0.0
    oldest = oldest.replace(tzinfo=UTC) if oldest.tzinfo is None else oldest
    return max((now - oldest).total_seconds(), 0.0)


def read_queue(db: Session, now: datetime | None = None) -> QueueSnapshot:
    now = now or datetime.now(UTC)
    # Every counter row, zeros included: a reason whose queue emptied must drop to 0, not vanish.
    by_reason = {r: int(n) for r, n in db.execute(select(ReasonCount.reason, ReasonCount.open_count))}
    open_items = Item.is_open.is_(True)
    claimed = db.scalar(select(func.count()).select_from(Item).where(
        open_items, Item.claimed_by.is_not(None), Item.claim_expires_at > now)) or 0
    overdue = db.scalar(select(func.count()).select_from(Item).where(open_items, Item.sla_due_at < now)) or 0
    oldest = db.scalar(select(func.min(Item.received_at)).where(open_items))
    return QueueSnapshot(by_reason, int(claimed), int(overdue), _age(oldest, now))


def read_outbox(db: Session, now: datetime | None = None) -> OutboxSnapshot:
    now = now or datetime.now(UTC)
    unsent = OutboxEvent.sent_at.is_(None)
    pending = db.scalar(select(func.count()).select_from(OutboxEvent).where(unsent)) or 0
    oldest = db.scalar(select(func.min(OutboxEvent.created_at)).where(unsent))
    return OutboxSnapshot(int(pending), _age(oldest, now))


def publish_queue(metrics: Metrics, snap: QueueSnapshot) -> None:
    for reason, n in snap.open_by_reason.items():
        metrics.review_open.labels(reason).set(max(n, 0))
    metrics.review_claimed.set(snap.claimed)
    metrics.review_overdue.set(snap.overdue)
    metrics.review_oldest.set(snap.oldest_age_s)


def publish_outbox(metrics: Metrics, snap: OutboxSnapshot) -> None:
    metrics.outbox_pending.set(snap.pending)
    metrics.outbox_oldest.set(snap.oldest_age_s)


def sample_review(sessions: sessionmaker[Session], metrics: Metrics = METRICS) -> None:
    """One round for the review app: queue depth and the outbox its decisions feed."""
    with sessions() as db:
        publish_queue(metrics, read_queue(db))
        publish_outbox(metrics, read_outbox(db))


def sample_outbox(sessions: sessionmaker[Session], metrics: Metrics = METRICS) -> None:
    with sessions() as db:
        publish_outbox(metrics, read_outbox(db))


@dataclass
class DbSampler:
    """Runs `sample()` every `interval_s` on a daemon thread; a database outage skips a round."""

    sample: Callable[[], None]
    interval_s: float = 15.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        while True:
            try:
                self.sample()
            except SQLAlchemyError as exc:  # gauges keep their last value; the next round retries
                log.debug("review metrics sample failed: %s", exc.__class__.__name__)
            if self._stop.wait(self.interval_s):
                return

    def start(self) -> DbSampler:
        self._thread = threading.Thread(target=self._run, name="review-metrics", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval_s + 5)
