"""A throw-away PostgreSQL server for refdata tests (pipeline.review.pgtemp.TempPostgres, one per session).

Uses DOCPIPE_TEST_POSTGRES_URL when set (e.g. a CI service); skips when no server binaries exist.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from pipeline.review.pgtemp import TempPostgres, find_bin


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    if os.environ.get("DOCPIPE_TEST_POSTGRES_URL"):
        yield os.environ["DOCPIPE_TEST_POSTGRES_URL"]
        return
    if not (find_bin("initdb") and find_bin("pg_ctl")):
        pytest.skip("PostgreSQL server binaries not installed")
    with TempPostgres() as pg:
        yield pg.url
