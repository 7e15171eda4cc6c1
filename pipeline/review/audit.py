"""Tamper-evident audit trail: every record hashes the previous one.

hash_n = sha256(canonical_json({seq, at, actor, action, item_id, document_id, correlation_id,
                                before, after, prev_hash}))
with prev_hash_1 = 64 zeros. Appends run inside the caller's transaction (so an audited change and
its record commit together) and are serialised by first updating the single `review_audit_head`
row. `verify_chain` recomputes every hash: an edited record, a deleted or inserted one, or a
reordering breaks the chain at that point. The head row additionally catches deletion of the last
records; anchor the head hash outside the database (`docpipe audit verify --json`) to also catch
an attacker who rewrites the whole table and the head.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipeline.review.models import AuditHead, AuditRecord

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept, non-JSON types as strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()


def _hashed_fields(rec: AuditRecord) -> dict[str, Any]:
    return {
        "seq": rec.seq,
        "at": rec.at,
        "actor": rec.actor,
        "action": rec.action,
        "item_id": rec.item_id,
        "document_id": rec.document_id,
        "correlation_id": rec.correlation_id,
        "before": rec.before,
        "after": rec.after,
        "prev_hash": rec.prev_hash,
    }


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    item_id: int | None = None,
    document_id: str | None = None,
    correlation_id: str | None = None,
    before: Any = None,
    after: Any = None,
    at: datetime | None = None,
) -> AuditRecord:
    """Append one record in the caller's transaction (the caller commits)."""
    # The UPDATE takes the head's row lock (PostgreSQL) / the write lock (SQLite) before we read it,
    # so two concurrent appends cannot both chain onto the same predecessor.
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1))
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
    rec = AuditRecord(
        seq=head.seq,
        at=(at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds"),
        actor=actor[:64],
        action=action[:32],
        item_id=item_id,
        document_id=document_id,
        correlation_id=correlation_id,
        before=canonical_json(before),
        after=canonical_json(after),
        prev_hash=head.hash,
    )
    rec.hash = record_hash(_hashed_fields(rec))
    session.add(rec)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=rec.hash))
    session.flush()
    return rec


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    head_seq: int
    head_hash: str
    problem: str | None = None
    at_seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "problem": self.problem,
            "at_seq": self.at_seq,
        }


def _iter_records(session: Session, batch: int = 5000) -> Iterator[AuditRecord]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditRecord).where(AuditRecord.seq > last).order_by(AuditRecord.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify_chain(session: Session, anchor: tuple[int, str] | None = None) -> VerifyResult:
    """Walk the whole chain; report the first broken link (changed, missing, inserted or reordered).

    `anchor` = (seq, hash) noted earlier outside the database: the record at seq must still have it.
    """
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one_or_none()
    if head is None:
        return VerifyResult(False, 0, 0, "", "audit head row is missing")
    prev, expected_seq, count = GENESIS, 1, 0
    for rec in _iter_records(session):
        count += 1
        if rec.seq != expected_seq:
            return VerifyResult(
                False,
                count,
                head.seq,
                head.hash,
                f"record {expected_seq} is missing (next present is {rec.seq})",
                expected_seq,
            )
        if rec.prev_hash != prev:
            return VerifyResult(
                False,
                count,
                head.seq,
                head.hash,
                "chain broken: previous-hash link does not match (record removed, inserted or reordered)",
                rec.seq,
            )
        if record_hash(_hashed_fields(rec)) != rec.hash:
            return VerifyResult(False, count, head.seq, head.hash, "record content was changed", rec.seq)
        if anchor is not None and rec.seq == anchor[0] and rec.hash != anchor[1]:
            return VerifyResult(
                False,
                count,
                head.seq,
                head.hash,
                "record differs from the externally anchored hash (log rewritten)",
                rec.seq,
            )
        prev, expected_seq = rec.hash, expected_seq + 1
    if head.seq != expected_seq - 1 or head.hash != prev:
        return VerifyResult(
            False,
            count,
            head.seq,
            head.hash,
            f"head says {head.seq} records but the chain ends at {expected_seq - 1} "
            "(records at the end were removed, or the head was altered)",
            expected_seq,
        )
    if anchor is not None and anchor[0] > count:
        return VerifyResult(
            False,
            count,
            head.seq,
            head.hash,
            f"anchored record {anchor[0]} no longer exists (log truncated)",
            anchor[0],
        )
    return VerifyResult(True, count, head.seq, head.hash)
