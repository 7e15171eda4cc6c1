"""One mapping from database failures to the runtime's retry rule, for every stage that uses a DB.

A database that is restarting, failing over, locked or briefly out of connections is the textbook
transient dependency: the runtime retries with backoff and dead-letters with a readable reason only
after the last attempt, so a restart of PostgreSQL costs latency, never documents. A unique-key
conflict is transient too: it means a concurrent writer (another replica, a redelivery) won a race,
and the next attempt finds its row. Only the exception class goes into the reason: driver messages
can echo bound parameters, i.e. document content.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from pipeline.runtime.errors import TransientError


@contextmanager
def database_transient(what: str) -> Iterator[None]:
    """Re-raise any SQLAlchemy error inside the block as `TransientError("<what> unavailable: <Class>")`.

    Use as `with database_transient("reference data"):` around the DB calls of a handler (or as a
    decorator); errors that are not the database's pass through to the runtime's own classification.
    """
    try:
        yield
    except IntegrityError as exc:
        raise TransientError(f"{what}: concurrent write ({exc.__class__.__name__})") from None
    except SQLAlchemyError as exc:
        raise TransientError(f"{what} unavailable: {exc.__class__.__name__}") from None
