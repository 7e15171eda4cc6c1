"""HTTP routes. Each is registered through `guarded_route` with exactly one permission.

Handlers are thin: parse input, call pipeline.review.service inside one transaction, redirect
(POST-redirect-GET) on success, or re-render the page with a clear message and the item unchanged.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from pipeline.blobstore import BlobNotFound
from pipeline.contracts import Severity
from pipeline.review import audit, queue, service
from pipeline.review.approval import effective_fields, failed_rules
from pipeline.review.auth import LoginRefused, SessionData, authenticate
from pipeline.review.errors import Invalid, NotFound, ReviewError
from pipeline.review.models import AuditRecord, Item, State, User
from pipeline.review.permissions import Perm
from pipeline.review.store import write_tx
from pipeline.review.validation import EDITABLE_FIELDS, field_type
from pipeline.review.web.app import render
from pipeline.review.web.guard import Ctx, guarded_route
from pipeline.review.web.pages import PageError, geometry, render_page

FLASH = {
    "claimed": "You claimed this item. It is yours until the claim expires.",
    "released": "You released this item.",
    "saved": "Your corrections were saved.",
    "nochange": "No value changed.",
    "first": "First approval recorded. A second, different approver must now approve.",
    "approved": "Approved. The ERP will receive it shortly.",
    "rejected": "Rejected.",
    "commented": "Comment added.",
    "signedout": "You are signed out.",
}
SEVERITY_WORDS = {
    Severity.reject: "blocks payment",
    Severity.dual: "needs two approvers",
    Severity.review: "needs a person",
    Severity.info: "for information",
}


def _ctx(request: Request) -> Ctx:
    ctx: Ctx = request.state.ctx
    return ctx


def _actor(request: Request) -> service.Actor:
    actor = _ctx(request).actor
    assert actor is not None  # guaranteed by the route's Require
    return actor


def _int(text: str | None, what: str) -> int:
    if text is None or not text.strip().isdigit() or len(text) > 12:
        raise Invalid(f"The form is malformed: {what} is missing or not a number.")
    return int(text)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/queue"


def _flash(request: Request) -> str | None:
    return FLASH.get(request.query_params.get("msg", ""))


def _settings(request: Request) -> Any:
    return request.app.state.settings


# ---------------------------------------------------------------- detail page model


def _detail_context(request: Request, db: Any, item: Item) -> dict[str, Any]:
    env = service.decision_of(item)
    decision = env.payload
    doc = decision.document
    corrections = service.corrections_of(item)
    effective = effective_fields(doc, corrections)
    editable = EDITABLE_FIELDS.get(item.kind, ())
    names = list(dict.fromkeys([*editable, *doc.fields.keys()]))
    rows: list[dict[str, Any]] = []
    for name in names:
        f = doc.fields.get(name)
        rows.append(
            {
                "name": name,
                "label": name.replace("_", " ").capitalize(),
                "type": field_type(name),
                "raw": f.raw if f else None,
                "normalized": f.value if f else None,
                "confidence": f.confidence if f else None,
                "valid": f.valid if f else True,
                "notes": f.notes if f else [],
                "effective": effective.get(name),
                "corrected": name in corrections,
                "editable": name in editable,
                "boxes": [(p.page, p.bbox) for p in (f.provenance if f else []) if p.bbox],
            }
        )
    pages: list[dict[str, Any]] = []
    page_error = None
    try:
        data = request.app.state.blobs.get(doc.blob.uri)
        for g in geometry(data, doc.blob.media_type, _settings(request).review_pdf_dpi):
            boxes = [
                {
                    "field": r["name"],
                    "label": r["label"],
                    "x": b.x0,
                    "y": b.y0,
                    "w": max(b.x1 - b.x0, 1),
                    "h": max(b.y1 - b.y0, 1),
                    "low": (r["confidence"] or 0) < 0.8,
                    "corrected": r["corrected"],
                }
                for r in rows
                for page, b in r["boxes"]
                if page == g.index
            ]
            pages.append({"index": g.index, "width": g.width, "height": g.height, "boxes": boxes})
    except (BlobNotFound, PageError, ValueError) as exc:
        page_error = f"The document image is not available ({exc.__class__.__name__})."
    actor = _ctx(request).actor
    now = datetime.now(UTC)
    claimed_by = db.get(User, item.claimed_by) if item.claimed_by else None
    claim_live = bool(item.claimed_by and item.claim_expires_at and item.claim_expires_at > now)
    history = db.scalars(
        select(AuditRecord).where(AuditRecord.item_id == item.id).order_by(AuditRecord.seq.desc()).limit(50)
    ).all()
    first = json.loads(item.first_approval) if item.first_approval else None
    return {
        "item": item,
        "env": env,
        "decision": decision,
        "doc": doc,
        "rows": rows,
        "pages": pages,
        "page_error": page_error,
        "failed": failed_rules(decision),
        "passed": [r for r in decision.reasons if r.passed],
        "severity_words": SEVERITY_WORDS,
        "dual": service.dual_control_reasons(decision, corrections, _settings(request).review_dual_threshold),
        "claimed_by": claimed_by.username if claimed_by and claim_live else None,
        "mine": claim_live and actor is not None and item.claimed_by == actor.id,
        "claim_expires_at": item.claim_expires_at if claim_live else None,
        "first_approval": first,
        "comments": service.comments_of(db, item.id),
        "history": history,
        "now": now,
    }


def _detail_page(
    request: Request,
    item_id: int,
    *,
    status: int = 200,
    error: str | None = None,
    field_errors: dict[str, str] | None = None,
    submitted: dict[str, str] | None = None,
    record_view: bool = False,
) -> HTMLResponse:
    sessions = request.app.state.sessions
    with write_tx(sessions) as db:
        item = service.view(db, item_id, _actor(request)) if record_view else db.get(Item, item_id)
        if item is None:
            raise NotFound("No such item.")
        context = _detail_context(request, db, item)
    return render(
        request,
        "detail.html",
        status,
        error=error,
        field_errors=field_errors or {},
        submitted=submitted or {},
        flash=None if error else _flash(request),
        **context,
    )


# Flash key -> result label of docpipe_review_actions_total where it is not plain "ok".
ACTION_RESULTS = {"first": "first_approval", "nochange": "unchanged"}


def _act(
    request: Request,
    item_id: int,
    action: Any,
    *,
    name: str,
    ok: str | dict[str, str],
    submitted: dict[str, str] | None = None,
) -> Response:
    """Run `action(db)` in one transaction; redirect on success, re-render with the reason on failure.

    Counted only after the transaction committed (or was refused), so a rolled-back claim or decision
    never shows up as done on the dashboard.
    """
    counter = request.app.state.metrics.review_actions
    try:
        with write_tx(request.app.state.sessions) as db:
            result = action(db)
    except ReviewError as exc:
        counter.labels(name, "refused").inc()
        if isinstance(exc, NotFound):
            raise
        return _detail_page(
            request,
            item_id,
            status=exc.status,
            error=exc.message,
            field_errors=exc.field_errors,
            submitted=submitted,
        )
    msg = ok[result] if isinstance(ok, dict) else ok
    counter.labels(name, ACTION_RESULTS.get(msg, "ok")).inc()
    return RedirectResponse(f"/items/{item_id}?msg={msg}", status_code=303)


# ---------------------------------------------------------------- routes


def register(app: FastAPI) -> None:
    @guarded_route(app, "GET", "/healthz", None)
    def healthz() -> Response:
        return Response("ok\n", media_type="text/plain")

    @guarded_route(app, "GET", "/login", None)
    def login_page(request: Request) -> Response:
        if _ctx(request).actor is not None:
            return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
        return render(
            request, "login.html", next=_safe_next(request.query_params.get("next")), flash=_flash(request)
        )

    @guarded_route(app, "POST", "/login", None)
    def login(request: Request) -> Response:
        ctx = _ctx(request)
        form = ctx.form
        username, password = form.get("username", ""), form.get("password", "")
        target = _safe_next(form.get("next"))
        if not username or not password or len(password) > 1024:
            return render(request, "login.html", 400, error="Enter your user name and password.", next=target)
        client = request.client.host if request.client else "unknown"
        settings = _settings(request)
        try:
            with request.app.state.sessions() as db:
                try:
                    user = authenticate(db, settings, username, password, client)
                finally:
                    db.commit()  # failures are recorded even when sign-in is refused
                audit.append(db, actor=user.username, action="sign_in", after={"client": client})
                session = SessionData(user.id, user.session_version, SessionData.anonymous().csrf)
                db.commit()
        except LoginRefused as exc:
            return render(
                request,
                "login.html",
                429 if exc.throttled else 401,
                error=str(exc),
                next=target,
                username=username[:64],
            )
        ctx.set_cookie = request.app.state.codec.dumps(session)
        return RedirectResponse(target, status_code=303)

    @guarded_route(app, "POST", "/logout", Perm.signed_in)
    def logout(request: Request) -> Response:
        ctx = _ctx(request)
        ctx.set_cookie = request.app.state.codec.dumps(SessionData.anonymous())
        return RedirectResponse("/login?msg=signedout", status_code=303)

    @guarded_route(app, "GET", "/", Perm.queue_view)
    def home() -> Response:
        return RedirectResponse("/queue", status_code=303)

    @guarded_route(app, "GET", "/queue", Perm.queue_view)
    def queue_view(request: Request) -> Response:
        settings = _settings(request)
        params = {k: v for k, v in request.query_params.items()}
        error: str | None = None
        try:
            q = queue.parse_query(params, settings.review_page_size)
        except Invalid as exc:
            q, error = queue.QueueQuery(limit=settings.review_page_size), exc.message
        now = datetime.now(UTC)
        with request.app.state.sessions() as db:
            page = queue.queue_page(db, q, now)
            counts = queue.reason_counts(db)
        next_link = f"/queue?{urlencode(q.params(after=page.next_after))}" if page.next_after else None
        return render(
            request,
            "queue.html",
            400 if error else 200,
            q=q,
            page=page,
            counts=counts,
            total=sum(n for _, n in counts),
            next_link=next_link,
            now=now,
            error=error,
            link=lambda **kw: "/queue?" + urlencode(q.params(**kw)),
            sorts=list(queue.SORTS),
        )

    @guarded_route(app, "GET", "/items/{item_id}", Perm.item_view)
    def detail(request: Request, item_id: int) -> Response:
        return _detail_page(request, item_id, record_view=True)

    @guarded_route(app, "GET", "/items/{item_id}/pages/{page}", Perm.item_view)
    def page_image(request: Request, item_id: int, page: int) -> Response:
        with request.app.state.sessions() as db:
            item = db.get(Item, item_id)
            if item is None:
                raise NotFound("No such item.")
            doc = service.decision_of(item).payload.document
        try:
            png = render_page(request.app.state.blobs.get(doc.blob.uri), doc.blob.media_type, page)
        except (BlobNotFound, PageError):
            raise NotFound("This page of the document is not available.") from None
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})

    @guarded_route(app, "POST", "/items/{item_id}/claim", Perm.item_claim)
    def claim(request: Request, item_id: int) -> Response:
        ttl = _settings(request).review_claim_ttl_s
        return _act(
            request, item_id, lambda db: service.claim(db, item_id, _actor(request), ttl_s=ttl),
            name="claim", ok="claimed",
        )

    @guarded_route(app, "POST", "/items/{item_id}/release", Perm.item_claim)
    def release(request: Request, item_id: int) -> Response:
        return _act(request, item_id, lambda db: service.release(db, item_id, _actor(request)),
                    name="release", ok="released")

    @guarded_route(app, "POST", "/items/{item_id}/edit", Perm.item_edit)
    def edit(request: Request, item_id: int) -> Response:
        form = _ctx(request).form
        values = {k.removeprefix("f_"): v for k, v in form.items() if k.startswith("f_")}
        settings = _settings(request)

        def action(db: Any) -> str:
            version = _int(form.get("version"), "version")
            changed = service.edit(
                db, item_id, _actor(request), version, values, ttl_s=settings.review_claim_ttl_s
            )
            return "saved" if changed else "nochange"

        return _act(request, item_id, action, name="edit", ok={"saved": "saved", "nochange": "nochange"},
                    submitted=values)

    @guarded_route(app, "POST", "/items/{item_id}/approve", Perm.item_approve)
    def approve(request: Request, item_id: int) -> Response:
        form = _ctx(request).form
        settings = _settings(request)

        def action(db: Any) -> str:
            version = _int(form.get("version"), "version")
            return service.approve(
                db,
                item_id,
                _actor(request),
                version,
                form.get("comment", ""),
                threshold=settings.review_dual_threshold,
                ttl_s=settings.review_claim_ttl_s,
            )

        return _act(request, item_id, action, name="approve",
                    ok={State.AWAITING_SECOND: "first", State.APPROVED: "approved"})

    @guarded_route(app, "POST", "/items/{item_id}/reject", Perm.item_reject)
    def reject(request: Request, item_id: int) -> Response:
        form = _ctx(request).form
        settings = _settings(request)

        def action(db: Any) -> None:
            version = _int(form.get("version"), "version")
            service.reject(
                db,
                item_id,
                _actor(request),
                version,
                form.get("reason", ""),
                ttl_s=settings.review_claim_ttl_s,
            )

        return _act(request, item_id, action, name="reject", ok="rejected")

    @guarded_route(app, "POST", "/items/{item_id}/comment", Perm.item_comment)
    def comment(request: Request, item_id: int) -> Response:
        body = _ctx(request).form.get("body", "")
        return _act(
            request,
            item_id,
            lambda db: service.add_comment(db, item_id, _actor(request), body),
            name="comment",
            ok="commented",
        )

    @guarded_route(app, "GET", "/audit", Perm.audit_view)
    def audit_view(request: Request) -> Response:
        before_text = request.query_params.get("before", "")
        before = int(before_text) if before_text.isdigit() and len(before_text) < 15 else None
        with request.app.state.sessions() as db:
            result = audit.verify_chain(db)
            stmt = select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(100)
            if before is not None:
                stmt = stmt.where(AuditRecord.seq < before)
            records = db.scalars(stmt).all()
        return render(
            request,
            "audit.html",
            result=result,
            records=records,
            older=records[-1].seq if len(records) == 100 else None,
        )

    @guarded_route(app, "GET", "/users", Perm.users_manage)
    def users(request: Request) -> Response:
        with request.app.state.sessions() as db:
            rows = db.scalars(select(User).order_by(User.username)).all()
        return render(request, "users.html", users=rows)
