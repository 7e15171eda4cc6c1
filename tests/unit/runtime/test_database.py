"""database_transient: every stage maps database failures to the runtime's retry rule the same way."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, ProgrammingError

from pipeline.runtime import TransientError, database_transient

SECRET = "DE89370400440532013000"  # a bound parameter the driver message would echo


@pytest.mark.parametrize("exc", [
    OperationalError("SELECT 1", {"iban": SECRET}, Exception("server closed the connection")),
    InterfaceError("SELECT 1", {"iban": SECRET}, Exception("connection already closed")),
    ProgrammingError("SELECT 1", {"iban": SECRET}, Exception("relation does not exist")),
])
def test_database_errors_become_transient_without_driver_text(exc: Exception) -> None:
    with pytest.raises(TransientError) as info, database_transient("reference data"):
        raise exc
    assert str(info.value) == f"reference data unavailable: {type(exc).__name__}"
    assert SECRET not in str(info.value) and info.value.__cause__ is None and info.value.__suppress_context__


def test_unique_conflict_is_a_transient_race() -> None:
    expected = r"^review database: concurrent write \(IntegrityError\)$"
    with pytest.raises(TransientError, match=expected), database_transient("review database"):
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))


def test_other_errors_pass_through_and_decorator_form() -> None:
    @database_transient("document index")
    def handler(x: int) -> int:
        return 10 // x

    assert handler(2) == 5
    with pytest.raises(ZeroDivisionError):  # the runtime classifies it (handler_error -> DLQ)
        handler(0)
