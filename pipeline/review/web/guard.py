"""Per-request identity and the permission guard every route is registered with.

`Require(perm)` runs before each handler: it loads the signed session, the user (checking the
session version and that the account is active), checks the permission against the ONE table in
pipeline.review.permissions, and for POSTs parses the form (bounded) and verifies the CSRF token.
Routes are only added through `guarded_route`, so none can exist without a declared permission.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, FastAPI, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from pipeline.review.auth import COOKIE, SessionData, csrf_ok
from pipeline.review.errors import Denied, Invalid, ReviewError, TooLarge
from pipeline.review.models import User
from pipeline.review.permissions import Perm
from pipeline.review.service import Actor

PUBLIC = None  # marker: the route needs no sign-in (sign-in page, health)
MAX_FIELDS = 60
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class SignInRequired(ReviewError):
    status = 401


@dataclass
class Ctx:
    session: SessionData
    actor: Actor | None = None
    display_name: str = ""
    form: dict[str, str] = field(default_factory=dict)
    set_cookie: str | None = None  # new cookie value to send with the response

    def can(self, perm: Perm) -> bool:
        return self.actor is not None and self.actor.can(perm)


def _load_actor(request: Request, session: SessionData) -> tuple[Actor, str] | None:
    if session.user_id is None:
        return None
    with request.app.state.sessions() as db:
        user = db.scalar(select(User).where(User.id == session.user_id))
        if user is None or not user.active or user.session_version != session.session_version:
            return None
        return Actor.of(user), user.display_name


async def _read_form(request: Request) -> dict[str, str]:
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype not in FORM_TYPES:
        raise Invalid("This endpoint accepts HTML form posts only.")
    try:
        form = await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=64 * 1024)
    except ReviewError:
        raise
    except Exception:
        if request.scope.get("docpipe.body_too_large"):
            raise TooLarge(
                "The form you sent is larger than this site accepts; nothing was changed."
            ) from None
        raise Invalid(
            "The form could not be read (malformed, too many fields, or contains a file)."
        ) from None
    out: dict[str, str] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            raise Invalid("File uploads are not accepted here.")
        if key in out:
            raise Invalid(f"The form field {key[:40]!r} was sent twice.")
        out[key] = value
    return out


class Require:
    """Route dependency: sign-in + permission (+ CSRF for POST). `perm=None` marks a public route."""

    def __init__(self, perm: Perm | None) -> None:
        self.permission = perm

    async def __call__(self, request: Request) -> Ctx:
        codec = request.app.state.codec
        session = codec.loads(request.cookies.get(COOKIE))
        ctx = Ctx(session=session or SessionData.anonymous())
        if session is None:
            ctx.set_cookie = codec.dumps(ctx.session)
        loaded = await run_in_threadpool(_load_actor, request, ctx.session)
        if loaded is not None:
            ctx.actor, ctx.display_name = loaded
        elif ctx.session.user_id is not None:  # expired, revoked or deactivated: back to anonymous
            ctx.session = SessionData.anonymous()
            ctx.set_cookie = codec.dumps(ctx.session)
        request.state.ctx = ctx
        if self.permission is not None:
            if ctx.actor is None:
                raise SignInRequired("Please sign in.")
            if not ctx.actor.can(self.permission):
                raise Denied(
                    f"Your role ({', '.join(sorted(ctx.actor.roles))}) does not allow this "
                    f"({self.permission.value})."
                )
        if request.method == "POST":
            ctx.form = await _read_form(request)
            if not csrf_ok(ctx.session, ctx.form.get("csrf")):
                raise Denied(
                    "The form expired or did not come from this site (CSRF check failed). "
                    "Reload the page and try again."
                )
        return ctx


def guarded_route(
    app: FastAPI, method: str, path: str, perm: Perm | None, **kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a handler with its permission; the guard runs before the handler, always."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        app.add_api_route(
            path,
            fn,
            methods=[method],
            dependencies=[Depends(Require(perm))],
            include_in_schema=False,
            **kwargs,
        )
        return fn

    return deco


def route_permission(route: Any) -> tuple[bool, Perm | None]:
    """(guarded, permission) of a registered route; used by the authorization matrix test."""
    for dep in getattr(route, "dependencies", []) or []:
        if isinstance(dep.dependency, Require):
            return True, dep.dependency.permission
    return False, None
