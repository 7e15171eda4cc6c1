"""One database for reference data, the review queue and the SQL ERP sink.

SQLite file by default, PostgreSQL supported. Schema changes go through Alembic migrations in
pipeline/db/migrations/versions (one linear history: 0001 refdata, 0002 review, 0003 erp, ...).
"""

from pipeline.db.base import Base, make_engine, migrate, session_factory

__all__ = ["Base", "make_engine", "migrate", "session_factory"]
