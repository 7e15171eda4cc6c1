"""Helpers shared by the review tests (unit, integration, browser)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from pipeline.review import service
from pipeline.review.errors import Conflict


def race(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run fn(i) in n threads released at the same instant; results or exceptions, in order."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:  # collected and asserted by the caller
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def race_claims(sessions: sessionmaker[Session], item_id: int, actors: list[service.Actor]) -> list[Any]:
    def claim(i: int) -> str:
        with sessions.begin() as db:
            service.claim(db, item_id, actors[i], ttl_s=600)
        return actors[i].username

    results = race(len(actors), claim)
    for r in results:
        assert isinstance(r, (str, Conflict)), f"unexpected outcome {r!r}"
    return results
