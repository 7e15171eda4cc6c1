"""Start the pipeline's processes, restart none silently, stop them all cleanly (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Service:
    name: str
    args: tuple[str, ...]
    needs_module: str  # the service runs only when its package is present


def default_services(stages: list[str], *, review_port: int) -> list[Service]:
    services = [Service(f"worker-{s}", ("worker", s), "pipeline.runtime") for s in stages]
    services += [
        Service("erp-sql", ("erp", "sql"), "pipeline.erp"),
        Service("review-relay", ("review", "relay"), "pipeline.review"),
        Service("review-web", ("review", "serve", "--port", str(review_port)), "pipeline.review"),
    ]
    return [s for s in services if importlib.util.find_spec(s.needs_module) is not None]


@dataclass
class Supervisor:
    log_dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, service: Service, env: dict[str, str] | None = None) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{service.name}.log", "ab")  # noqa: SIM115 - owned by the child
        self.procs[service.name] = subprocess.Popen([sys.executable, "-m", "pipeline", *service.args],
                                                    stdout=log, stderr=subprocess.STDOUT, env=env)

    def failed(self) -> dict[str, int]:
        """Services that exited with an error of their own (a positive code). Killed by a signal (negative
        code) is not a failure here: that is the operator's or the chaos run's doing, and it restarts them."""
        return {n: p.returncode for n, p in self.procs.items() if p.poll() is not None and p.returncode > 0}

    def stop(self, timeout_s: float = 30.0) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + timeout_s
        for p in self.procs.values():
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
