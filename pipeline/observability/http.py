"""Request latency for the HTTP apps (the review app), labelled by route template.

A pure ASGI middleware rather than FastAPI's `@app.middleware("http")`: it sees the final status of
every response, streamed ones and the body-limit refusals included. The route label is the matched
template (`/items/{item_id}`), read after routing from `scope["route"]`; unmatched paths become
`unmatched`, so scanners probing random URLs cannot grow the series count.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.observability.metrics import METRICS, Metrics

METHODS = frozenset({"GET", "POST", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_label(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "unmatched"


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


class HttpMetrics:
    def __init__(self, app: ASGIApp, *, app_name: str, metrics: Metrics = METRICS) -> None:
        self.app = app
        self.app_name = app_name
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception escaping the app is answered 500 by the server

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            method = scope.get("method", "GET")
            self.metrics.http_latency.labels(
                self.app_name, method if method in METHODS else "other", route_label(scope),
                status_class(status)).observe(time.perf_counter() - started)
