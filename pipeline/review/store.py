"""Open the review database (engine, migrations, sessions) and run write transactions safely.

On SQLite the driver only opens a transaction at the first write, so what an action read before
writing is not part of its transaction. `write_tx` starts SQLite write transactions with BEGIN
IMMEDIATE: the whole action (reads included) is one serialised transaction that waits for the write
lock (busy timeout) rather than failing with "database is locked". PostgreSQL needs nothing special
(every change is a conditional UPDATE, correct under READ COMMITTED).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import Settings
from pipeline.db import make_engine, migrate, session_factory


def open_store(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    engine = make_engine(settings.db_url)
    migrate(settings.db_url)
    return engine, session_factory(engine)


@contextmanager
def write_tx(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One read-write transaction: commit on success, roll back on any exception."""
    with sessions() as db:
        if db.get_bind().dialect.name == "sqlite":
            db.execute(text("BEGIN IMMEDIATE"))
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise
