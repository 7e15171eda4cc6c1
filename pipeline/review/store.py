"""Open the review database: engine (creating a SQLite file's directory), migrations, sessions."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import Settings
from pipeline.db import make_engine, migrate, session_factory


def open_store(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    engine = make_engine(settings.db_url)
    migrate(settings.db_url)
    return engine, session_factory(engine)
