"""A throw-away PostgreSQL server for refdata tests: initdb + pg_ctl in a temp dir, unix socket only.

Uses DOCPIPE_TEST_POSTGRES_URL when set (e.g. a CI service); skips when no server binaries exist.
Runs the server as the `postgres` OS user when the tests run as root (PostgreSQL refuses root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0 and shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    if os.environ.get("DOCPIPE_TEST_POSTGRES_URL"):
        yield os.environ["DOCPIPE_TEST_POSTGRES_URL"]
        return
    if not (shutil.which("initdb") and shutil.which("pg_ctl")):
        pytest.skip("PostgreSQL server binaries not installed")
    # Not under pytest's tmp dirs: those are private to root, and the server runs as `postgres`.
    base = Path(tempfile.mkdtemp(prefix="docpipe-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    port = _free_port()
    subprocess.run(
        _as_server_user(["initdb", "-D", str(data), "-U", "postgres", "-A", "trust"]),
        check=True,
        capture_output=True,
    )
    log = base / "server.log"
    subprocess.run(
        _as_server_user(
            [
                "pg_ctl",
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-o",
                f"-p {port} -k {sock} -c listen_addresses=''",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={sock}&port={port}"
    finally:
        subprocess.run(
            _as_server_user(["pg_ctl", "-D", str(data), "-m", "fast", "stop"]), capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)
