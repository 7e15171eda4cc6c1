"""The HTTP endpoint Prometheus scrapes: /metrics on settings.metrics_port (off when unset)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

log = logging.getLogger(__name__)


@dataclass
class MetricsServer:
    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_metrics_server(port: int, addr: str = "0.0.0.0",
                         registry: CollectorRegistry = REGISTRY) -> MetricsServer:
    """Serve /metrics in a daemon thread; port 0 picks a free port (tests)."""
    server, thread = start_http_server(port, addr=addr, registry=registry)
    ms = MetricsServer(server, thread)
    log.info("metrics exporter listening", extra={"port": ms.port, "addr": addr})
    return ms


def start_from_settings(settings: object, addr: str = "0.0.0.0",
                        registry: CollectorRegistry = REGISTRY) -> MetricsServer | None:
    """Start the exporter when `settings.metrics_port` is set (DOCPIPE_METRICS_PORT); None otherwise."""
    port = getattr(settings, "metrics_port", None)
    if port is None:
        return None
    return start_metrics_server(int(port), addr=addr, registry=registry)
