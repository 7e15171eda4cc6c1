"""A real Kafka broker for tests: started once per session from infra/kafka/kafka.sh (KRaft, loopback)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import Settings

ROOT = Path(__file__).resolve().parents[1]
KAFKA_SH = ROOT / "infra" / "kafka" / "kafka.sh"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Broker:
    home: Path
    port: int
    controller_port: int

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(DOCPIPE_KAFKA_HOME=str(self.home), DOCPIPE_KAFKA_PORT=str(self.port),
                   DOCPIPE_KAFKA_CONTROLLER_PORT=str(self.controller_port))
        return env

    def _run(self, action: str) -> None:
        subprocess.run(["bash", str(KAFKA_SH), action], env=self._env(), check=True,
                       stdout=subprocess.DEVNULL, timeout=300)

    def start(self) -> None:
        self._run("start")

    def stop(self) -> None:
        self._run("stop")

    def restart(self, down_s: float = 3.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()


@dataclass
class Pipeline:
    """Settings for one test: its own topic prefix, blob store and database, on the shared broker."""

    broker: Broker
    home: Path
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}.")
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: dict[int, Path] = field(default_factory=dict)

    def settings(self, **overrides: object) -> Settings:
        return Settings(KAFKA_BOOTSTRAP_SERVERS=self.broker.bootstrap, topic_prefix=self.prefix,
                        home=self.home, **overrides)  # type: ignore[arg-type]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(KAFKA_BOOTSTRAP_SERVERS=self.broker.bootstrap, DOCPIPE_TOPIC_PREFIX=self.prefix,
                   DOCPIPE_HOME=str(self.home), PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        return env

    def spawn(self, *args: str, log_name: str | None = None) -> subprocess.Popen[bytes]:
        log = open(self.home / f"{log_name or args[0]}-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", *args], env=self.env(), stdout=log,
                                stderr=subprocess.STDOUT, cwd=ROOT)
        self.logs[proc.pid] = Path(log.name)
        self.procs.append(proc)
        return proc

    def check_alive(self) -> None:
        """Fail fast, with its log, when a spawned process died on its own (not killed by the test)."""
        for p in self.procs:
            code = p.poll()
            if code not in (None, 0, -9, -15):
                log = self.logs[p.pid].read_text(errors="replace")[-3000:]
                raise AssertionError(f"process {p.args} exited with {code}:\n{log}")

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def broker_session(tmp_root: Path) -> Iterator[Broker]:
    broker = Broker(home=tmp_root / "kafka", port=free_port(), controller_port=free_port())
    broker.home.mkdir(parents=True, exist_ok=True)
    # Reuse the machine-wide jar cache instead of resolving jars again.
    shared_lib = Path(os.environ.get("DOCPIPE_KAFKA_HOME", Path.home() / ".cache/docpipe/kafka"))
    for lib in shared_lib.glob("lib-*"):
        target = broker.home / lib.name
        if not target.exists():
            target.symlink_to(lib)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
