"""Open-item counters per primary reason: O(reasons) to read, kept exact transactionally.

Counting 100,000 index entries on every queue page costs tens of milliseconds; instead the
transactions that open or close an item adjust one counter row (an upsert), so the queue page reads
a handful of rows. `recount` rebuilds the table from the items (repair / bulk loads).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pipeline.review.models import Item, ReasonCount


def bump(db: Session, reason: str, delta: int) -> None:
    dialect = db.get_bind().dialect.name
    ins: Any = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
    stmt = ins(ReasonCount).values(reason=reason, open_count=delta)
    db.execute(
        stmt.on_conflict_do_update(
            index_elements=["reason"], set_={"open_count": ReasonCount.open_count + delta}
        )
    )


def read(db: Session) -> list[tuple[str, int]]:
    rows = db.execute(
        select(ReasonCount.reason, ReasonCount.open_count).where(ReasonCount.open_count > 0)
    ).all()
    return sorted(((r, int(n)) for r, n in rows), key=lambda rn: (-rn[1], rn[0]))


def recount(db: Session) -> None:
    db.execute(delete(ReasonCount))
    rows = db.execute(
        select(Item.primary_reason, func.count()).where(Item.is_open.is_(True)).group_by(Item.primary_reason)
    ).all()
    if rows:
        db.execute(insert(ReasonCount), [{"reason": r, "open_count": int(n)} for r, n in rows])
