"""FastAPI application factory: state, middleware (body limit, security headers, cookies), errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.blobstore import open_blobstore
from pipeline.config import Settings
from pipeline.db import make_engine, session_factory
from pipeline.observability.http import HttpMetrics
from pipeline.observability.metrics import METRICS, Metrics
from pipeline.review.auth import COOKIE, SessionCodec, secret_key
from pipeline.review.errors import ReviewError, TooLarge
from pipeline.review.web.guard import Ctx, SignInRequired

HERE = Path(__file__).parent
TOO_LARGE_FLAG = "docpipe.body_too_large"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class BodyLimit:
    """Refuse request bodies above `limit` bytes (413), by header or while streaming."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._refuse(send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:  # chunked body without a length: stop reading, answer 413
                    scope[TOO_LARGE_FLAG] = True  # readers may wrap our exception; the flag survives
                    raise TooLarge("The form you sent is larger than this site accepts; nothing was changed.")
            return msg

        await self.app(scope, limited_receive, send)

    async def _refuse(self, send: Send) -> None:
        body = (
            b"<!doctype html><title>Too large</title><h1>Request too large</h1>"
            b"<p>The form you sent is larger than this site accepts; nothing was changed.</p>"
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    ctx: Ctx | None = getattr(request.state, "ctx", None)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, template, {"ctx": ctx, **context}, status_code=status)


def create_app(settings: Settings, engine: Engine | None = None, metrics: Metrics = METRICS) -> FastAPI:
    app = FastAPI(title="docpipe review", docs_url=None, redoc_url=None, openapi_url=None)
    engine = engine or make_engine(settings.db_url)
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.codec = SessionCodec(secret_key(settings), settings.review_session_ttl_s)
    app.state.blobs = open_blobstore(settings.blob_root)
    templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape on for .html
    templates.env.autoescape = True
    app.state.templates = templates
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def headers_and_cookie(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            if (
                k == "Cache-Control"
                and request.url.path.startswith(("/static/", "/items/"))
                and "cache-control" in response.headers
            ):
                continue
            response.headers.setdefault(k, v)
        ctx: Ctx | None = getattr(request.state, "ctx", None)
        if ctx is not None and ctx.set_cookie is not None:
            response.set_cookie(
                COOKIE,
                ctx.set_cookie,
                max_age=settings.review_session_ttl_s,
                httponly=True,
                samesite="strict",
                secure=settings.review_cookie_secure,
                path="/",
            )
        return response

    @app.exception_handler(SignInRequired)
    async def _signin(request: Request, exc: SignInRequired) -> Response:
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            from urllib.parse import quote

            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return render(request, "error.html", 401, title="Sign-in required", message=exc.message)

    @app.exception_handler(ReviewError)
    async def _review_error(request: Request, exc: ReviewError) -> Response:
        return render(request, "error.html", exc.status, title="Not possible", message=exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: "There is no such page.", 405: "This page does not accept that kind of request."}
        return render(
            request,
            "error.html",
            exc.status_code,
            title=f"Error {exc.status_code}",
            message=messages.get(exc.status_code, "The request could not be handled."),
        )

    from pipeline.review.web import routes

    routes.register(app)
    app.add_middleware(BodyLimit, limit=settings.review_max_body_bytes)
    app.add_middleware(HttpMetrics, app_name="review", metrics=metrics)  # outermost: sees 413s too
    return app
