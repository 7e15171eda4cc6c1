from __future__ import annotations

import itertools

from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from pipeline.review import audit
from pipeline.review.models import AuditHead, AuditRecord


def _fill(sessions: sessionmaker[Session], n: int = 5) -> None:
    for i in range(n):
        with sessions.begin() as db:
            audit.append(
                db,
                actor=f"user{i}",
                action="edit",
                item_id=i,
                document_id="d" * 64,
                correlation_id="c",
                before={"total": str(i)},
                after={"total": str(i + 1)},
            )


def _verify(sessions: sessionmaker[Session], anchor: tuple[int, str] | None = None) -> audit.VerifyResult:
    with sessions() as db:
        return audit.verify_chain(db, anchor)


def test_intact_chain_verifies_and_links_each_record_to_the_previous(sessions: sessionmaker[Session]) -> None:
    _fill(sessions)
    result = _verify(sessions)
    assert result.ok and result.records == 5 and result.head_seq == 5
    with sessions() as db:
        recs = db.query(AuditRecord).order_by(AuditRecord.seq).all()
    assert recs[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(recs))


def test_changed_record_is_detected(sessions: sessionmaker[Session]) -> None:
    _fill(sessions)
    with sessions.begin() as db:
        db.execute(update(AuditRecord).where(AuditRecord.seq == 3).values(after='{"total":"999"}'))
    result = _verify(sessions)
    assert not result.ok and result.at_seq == 3 and "changed" in (result.problem or "")


def test_changed_actor_with_recomputed_hash_breaks_the_next_link(sessions: sessionmaker[Session]) -> None:
    _fill(sessions)
    with sessions.begin() as db:
        rec = db.get(AuditRecord, 2)
        assert rec is not None
        rec.actor = "mallory"
        rec.hash = audit.record_hash(audit._hashed_fields(rec))
    result = _verify(sessions)
    assert not result.ok and result.at_seq == 3


def test_deleted_middle_record_is_detected(sessions: sessionmaker[Session]) -> None:
    _fill(sessions)
    with sessions.begin() as db:
        db.execute(delete(AuditRecord).where(AuditRecord.seq == 2))
    result = _verify(sessions)
    assert not result.ok and result.at_seq == 2 and "missing" in (result.problem or "")


def test_deleted_last_records_are_detected_by_the_head(sessions: sessionmaker[Session]) -> None:
    _fill(sessions)
    with sessions.begin() as db:
        db.execute(delete(AuditRecord).where(AuditRecord.seq >= 4))
    result = _verify(sessions)
    assert not result.ok and "end" in (result.problem or "")


def test_reordered_records_are_detected(sessions: sessionmaker[Session]) -> None:
    _fill(sessions)
    with sessions.begin() as db:
        a, b = db.get(AuditRecord, 2), db.get(AuditRecord, 3)
        assert a is not None and b is not None
        cols = ("at", "actor", "action", "item_id", "before", "after", "prev_hash", "hash")
        va, vb = ({c: getattr(r, c) for c in cols} for r in (a, b))
        for c in cols:
            setattr(a, c, vb[c])
            setattr(b, c, va[c])
    result = _verify(sessions)
    assert not result.ok and result.at_seq == 2


def test_wholesale_rewrite_is_caught_by_an_external_anchor(sessions: sessionmaker[Session]) -> None:
    _fill(sessions, 3)
    anchor = (3, _verify(sessions).head_hash)
    with sessions.begin() as db:  # attacker rewrites everything consistently, head included
        db.execute(delete(AuditRecord))
        db.execute(update(AuditHead).values(seq=0, hash=audit.GENESIS))
        for i in range(3):
            audit.append(db, actor="mallory", action="edit", item_id=i)
    assert _verify(sessions).ok  # self-consistent again ...
    result = _verify(sessions, anchor)  # ... but not what was anchored
    assert not result.ok and result.at_seq == 3


def test_canonical_json_is_key_order_independent() -> None:
    assert audit.canonical_json({"b": 1, "a": [1, "é"]}) == audit.canonical_json({"a": [1, "é"], "b": 1})
    assert audit.canonical_json({"b": 1, "a": 2}) == '{"a":2,"b":1}'
