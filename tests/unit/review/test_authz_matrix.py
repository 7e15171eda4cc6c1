"""Every route x every role (+ anonymous) -> expected status. Routes are enumerated from the app, so a
new endpoint without a row here fails `test_every_route_has_a_matrix_row`."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount

from pipeline.review.web.guard import route_permission
from tests.unit.review.conftest import csrf_of

ROLES = ("reviewer", "approver", "admin", "auditor")
ANON = "anonymous"
OK, SEE_OTHER, BAD, UNAUTH, DENIED, CONFLICT = 200, 303, 400, 401, 403, 409


def row(anon: int, reviewer: int, approver: int, admin: int, auditor: int) -> dict[str, int]:
    return {ANON: anon, "reviewer": reviewer, "approver": approver, "admin": admin, "auditor": auditor}


# Anonymous GETs of protected pages redirect to sign-in (303 -> /login); POSTs answer 401.
# Allowed POSTs on an item nobody claimed reach the handler and answer 303 (done) or 409 (needs a claim).
MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/healthz"): row(OK, OK, OK, OK, OK),
    ("GET", "/login"): row(OK, SEE_OTHER, SEE_OTHER, SEE_OTHER, SEE_OTHER),
    ("POST", "/login"): row(BAD, BAD, BAD, BAD, BAD),  # empty credentials
    ("POST", "/logout"): row(UNAUTH, SEE_OTHER, SEE_OTHER, SEE_OTHER, SEE_OTHER),
    ("GET", "/"): row(SEE_OTHER, SEE_OTHER, SEE_OTHER, SEE_OTHER, SEE_OTHER),
    ("GET", "/queue"): row(SEE_OTHER, OK, OK, OK, OK),
    ("GET", "/items/{item_id}"): row(SEE_OTHER, OK, OK, OK, OK),
    ("GET", "/items/{item_id}/pages/{page}"): row(SEE_OTHER, OK, OK, OK, OK),
    ("POST", "/items/{item_id}/claim"): row(UNAUTH, SEE_OTHER, SEE_OTHER, SEE_OTHER, DENIED),
    ("POST", "/items/{item_id}/release"): row(UNAUTH, CONFLICT, CONFLICT, CONFLICT, DENIED),
    ("POST", "/items/{item_id}/edit"): row(UNAUTH, CONFLICT, CONFLICT, CONFLICT, DENIED),
    ("POST", "/items/{item_id}/approve"): row(UNAUTH, CONFLICT, CONFLICT, CONFLICT, DENIED),
    ("POST", "/items/{item_id}/reject"): row(UNAUTH, CONFLICT, CONFLICT, CONFLICT, DENIED),
    ("POST", "/items/{item_id}/comment"): row(UNAUTH, SEE_OTHER, SEE_OTHER, SEE_OTHER, DENIED),
    ("GET", "/audit"): row(SEE_OTHER, DENIED, DENIED, OK, OK),
    ("GET", "/users"): row(SEE_OTHER, DENIED, DENIED, OK, DENIED),
    ("GET", "/static/{path}"): row(OK, OK, OK, OK, OK),  # CSS/JS only, no data
}
FORMS = {
    "/items/{item_id}/edit": {"version": "1", "f_total": "1.00"},
    "/items/{item_id}/approve": {"version": "1"},
    "/items/{item_id}/reject": {"version": "1", "reason": "x"},
    "/items/{item_id}/comment": {"body": "hello"},
}
PUBLIC = {("GET", "/healthz"), ("GET", "/login"), ("POST", "/login"), ("GET", "/static/{path}")}


def app_routes(app: Any) -> set[tuple[str, str]]:
    out = set()
    for route in app.routes:
        if isinstance(route, APIRoute):
            out |= {(m, route.path) for m in route.methods}
        elif isinstance(route, Mount):
            out.add(("GET", f"{route.path}/{{path}}"))
        else:
            out.add(("?", getattr(route, "path", repr(route))))
    return out


def test_every_route_has_a_matrix_row(app) -> None:  # type: ignore[no-untyped-def]
    assert app_routes(app) == set(MATRIX)


def test_every_route_is_guarded_with_a_declared_permission(app) -> None:  # type: ignore[no-untyped-def]
    for route in app.routes:
        if isinstance(route, APIRoute):
            guarded, perm = route_permission(route)
            assert guarded, f"{route.path} has no Require guard"
            public = all((m, route.path) in PUBLIC for m in route.methods)
            assert (perm is None) == public, f"{route.path}: permission {perm} vs public={public}"


@pytest.mark.parametrize("who", [ANON, *ROLES])
def test_matrix(who: str, client_for, make_item) -> None:  # type: ignore[no-untyped-def]
    client = client_for(None if who == ANON else who)
    shared_item, _ = make_item()
    csrf = csrf_of(client.get("/login" if who == ANON else "/queue").text)
    for (method, path), expected in MATRIX.items():
        item_id = make_item()[0] if method == "POST" and "{item_id}" in path else shared_item
        url = path.replace("{item_id}", str(item_id)).replace("{page}", "0").replace("{path}", "app.css")
        if method == "GET":
            r = client.get(url)
        else:
            r = client.post(url, data={"csrf": csrf, **FORMS.get(path, {})})
            if path == "/logout" and r.status_code == SEE_OTHER:  # signed out: sign in again for the rest
                client = client_for(who)
                csrf = csrf_of(client.get("/queue").text)
        assert r.status_code == expected[who], f"{who} {method} {path}: {r.status_code} != {expected[who]}"
        if who == ANON and (method, path) not in PUBLIC and method == "GET":
            assert r.headers["location"].startswith("/login"), f"{path} must send anonymous users to sign-in"
