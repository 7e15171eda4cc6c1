"""Concurrent writers on the SQLite store: read-then-write transactions must wait, not fail."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from pipeline.review import audit, service
from pipeline.review.store import write_tx
from tests.review_support import race


def test_concurrent_views_and_claims_all_succeed_and_the_chain_holds(
    sessions: sessionmaker[Session], actors, make_item
) -> None:  # type: ignore[no-untyped-def]
    ids = [make_item()[0] for _ in range(4)]
    people = [actors["reviewer"], actors["reviewer2"], actors["approver"], actors["approver2"]]

    def work(i: int) -> int:
        for round_ in range(8):
            with write_tx(sessions) as db:  # read (load item) then write (audit append)
                service.view(db, ids[(i + round_) % 4], people[i])
        return i

    results = race(4, work)
    assert results == [0, 1, 2, 3], results
    with sessions() as db:
        assert audit.verify_chain(db).ok
