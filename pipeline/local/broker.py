"""Start/stop the local KRaft broker through infra/kafka/kafka.sh (jars from Maven Central, cached)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

KAFKA_SH = Path(__file__).resolve().parents[2] / "infra" / "kafka" / "kafka.sh"


def reachable(bootstrap: str, timeout_s: float = 1.0) -> bool:
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout_s):
            return True
    except OSError:
        return False


def _run(action: str, port: int) -> str:
    if not KAFKA_SH.is_file():
        raise FileNotFoundError(f"{KAFKA_SH} not found: run from a checkout of the docpipe repository "
                                "or set KAFKA_BOOTSTRAP_SERVERS to an existing cluster")
    env = dict(os.environ, DOCPIPE_KAFKA_PORT=str(port), DOCPIPE_KAFKA_CONTROLLER_PORT=str(port + 1))
    out = subprocess.run(["bash", str(KAFKA_SH), action], env=env, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        tail = (out.stderr or out.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"kafka.sh {action} failed: {' | '.join(tail)}")
    return out.stdout.strip()


def start_local(port: int) -> str:
    return _run("start", port)


def stop_local(port: int) -> str:
    return _run("stop", port)
