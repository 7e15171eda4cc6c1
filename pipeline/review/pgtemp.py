"""A throwaway PostgreSQL cluster on a free loopback port (tests and `docpipe bench review --postgres`).

Uses the Debian `postgresql` package binaries (initdb/pg_ctl). As root, the cluster runs as the
`postgres` system user (PostgreSQL refuses to run as root). Trust auth on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def find_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TempPostgres:
    def __init__(self) -> None:
        self.initdb, self.pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        if not self.initdb or not self.pg_ctl:
            raise PostgresUnavailable(
                "PostgreSQL binaries (initdb, pg_ctl) not found; apt-get install postgresql"
            )
        self.dir = Path(tempfile.mkdtemp(prefix="docpipe-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise PostgresUnavailable(f"{Path(args[0]).name} failed: {(proc.stderr or proc.stdout)[-500:]}")

    def start(self) -> str:
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            str(self.initdb),
            "-D",
            str(self.data),
            "-U",
            "docpipe",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        )
        self._start_server()
        return self.url

    def _start_server(self) -> None:
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._run(
            str(self.pg_ctl), "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start"
        )

    def restart(self, down_s: float = 2.0) -> None:
        """Crash-stop (immediate) and start again on the same data and port: a database outage."""
        self._run(str(self.pg_ctl), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        time.sleep(down_s)
        self._start_server()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://docpipe@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        with contextlib.suppress(PostgresUnavailable):  # already stopped: still remove the files
            self._run(str(self.pg_ctl), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> TempPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
