"""The web app's answers to bad input: a clear message, the item unchanged, nothing lost."""

from __future__ import annotations

import json

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from pipeline.review.models import Item, User
from tests.unit.review.conftest import PASSWORD, csrf_of


def _item(sessions: sessionmaker[Session], item_id: int) -> Item:
    with sessions() as db:
        item = db.get(Item, item_id)
        assert item is not None
        return item


def _claimed(client, item_id: int) -> str:  # type: ignore[no-untyped-def]
    csrf = csrf_of(client.get(f"/items/{item_id}").text)
    assert client.post(f"/items/{item_id}/claim", data={"csrf": csrf}).status_code == 303
    return csrf


def test_sign_in_flow_and_safe_redirects(client_for) -> None:  # type: ignore[no-untyped-def]
    anon = client_for(None)
    r = anon.get("/queue?sort=amount")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fqueue%3Fsort%3Damount"
    csrf = csrf_of(anon.get("/login").text)
    r = anon.post(
        "/login", data={"csrf": csrf, "username": "reviewer", "password": PASSWORD, "next": "//evil.example"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/queue"  # no open redirect
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_wrong_password_then_throttled_even_with_the_right_one(client_for) -> None:  # type: ignore[no-untyped-def]
    anon = client_for(None)
    csrf = csrf_of(anon.get("/login").text)
    for _ in range(5):
        r = anon.post("/login", data={"csrf": csrf, "username": "reviewer", "password": "wrong password!"})
        assert r.status_code == 401 and "Unknown user name or wrong password" in r.text
    r = anon.post("/login", data={"csrf": csrf, "username": "reviewer", "password": PASSWORD})
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text


def test_post_without_csrf_token_is_refused_and_changes_nothing(client_for, make_item, sessions) -> None:  # type: ignore[no-untyped-def]
    item_id, _ = make_item()
    client = client_for("reviewer")
    r = client.post(f"/items/{item_id}/claim", data={"csrf": "forged"})
    assert r.status_code == 403 and "CSRF" in r.text
    assert _item(sessions, item_id).claimed_by is None


def test_oversized_post_is_refused_with_413(client_for, make_item, sessions) -> None:  # type: ignore[no-untyped-def]
    item_id, _ = make_item()
    client = client_for("reviewer")
    csrf = _claimed(client, item_id)
    r = client.post(f"/items/{item_id}/comment", data={"csrf": csrf, "body": "x" * 100_000})
    assert r.status_code == 413 and "larger than this site accepts" in r.text

    def chunks():  # no Content-Length: the limit applies while streaming
        yield f"csrf={csrf}&body=".encode()
        for _ in range(40):
            yield b"y" * 4096

    r = client.post(
        f"/items/{item_id}/comment",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413
    assert _item(sessions, item_id).version == 1


def test_file_upload_and_non_form_bodies_are_refused(client_for, make_item) -> None:  # type: ignore[no-untyped-def]
    item_id, _ = make_item()
    client = client_for("reviewer")
    csrf = csrf_of(client.get("/queue").text)
    r = client.post(f"/items/{item_id}/comment", data={"csrf": csrf}, files={"body": ("x.txt", b"hello")})
    assert r.status_code == 400 and ("file" in r.text.lower())
    r = client.post(
        f"/items/{item_id}/comment",
        content=json.dumps({"csrf": csrf, "body": "x"}),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and "form posts only" in r.text


def test_malformed_version_is_a_clear_400_and_nothing_changes(client_for, make_item, sessions) -> None:  # type: ignore[no-untyped-def]
    item_id, _ = make_item()
    client = client_for("reviewer")
    csrf = _claimed(client, item_id)
    r = client.post(f"/items/{item_id}/edit", data={"csrf": csrf, "version": "1; DROP TABLE", "f_total": "5"})
    assert r.status_code == 400 and "version is missing or not a number" in r.text
    assert _item(sessions, item_id).corrections == "{}"


def test_invalid_field_value_is_shown_next_to_the_field_and_kept_in_the_form(
    client_for, make_item, sessions
) -> None:  # type: ignore[no-untyped-def]
    item_id, _ = make_item()
    client = client_for("reviewer")
    csrf = _claimed(client, item_id)
    r = client.post(
        f"/items/{item_id}/edit",
        data={"csrf": csrf, "version": "1", "f_invoice_date": "31.02.2026", "f_total": "1000.00"},
    )
    assert r.status_code == 400 and "Invoice date: impossible date" in r.text
    assert 'value="31.02.2026"' in r.text  # the reviewer's input is not lost
    assert _item(sessions, item_id).corrections == "{}"


def test_stale_edit_shows_a_message_and_keeps_the_other_change(client_for, make_item, sessions) -> None:  # type: ignore[no-untyped-def]
    item_id, _ = make_item()
    client = client_for("reviewer")
    csrf = _claimed(client, item_id)
    assert (
        client.post(
            f"/items/{item_id}/edit", data={"csrf": csrf, "version": "1", "f_total": "1000.00"}
        ).status_code
        == 303
    )
    r = client.post(f"/items/{item_id}/edit", data={"csrf": csrf, "version": "1", "f_total": "2000.00"})
    assert r.status_code == 409 and "Someone else changed this item" in r.text
    assert 'value="2000.00"' in r.text and "saved value:" in r.text  # the reviewer's input is not lost
    assert json.loads(_item(sessions, item_id).corrections)["total"]["after"] == "1000.00"


def test_expired_claim_gets_a_clear_message(client_for, make_item, sessions) -> None:  # type: ignore[no-untyped-def]
    item_id, _ = make_item()
    client = client_for("reviewer")
    csrf = _claimed(client, item_id)
    from datetime import UTC, datetime, timedelta

    with sessions.begin() as db:
        db.execute(
            update(Item)
            .where(Item.id == item_id)
            .values(claim_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    r = client.post(f"/items/{item_id}/approve", data={"csrf": csrf, "version": "1"})
    assert r.status_code == 409 and "claim on this item expired" in r.text
    assert _item(sessions, item_id).state == "open"


def test_script_in_document_text_and_comments_is_shown_as_text(client_for, make_item) -> None:  # type: ignore[no-untyped-def]
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    item_id, _ = make_item(vendor=f"Evil {payload} GmbH", invoice_number=payload[:40])
    client = client_for("reviewer")
    csrf = csrf_of(client.get(f"/items/{item_id}").text)
    assert client.post(f"/items/{item_id}/comment", data={"csrf": csrf, "body": payload}).status_code == 303
    for url in (f"/items/{item_id}", "/queue"):
        html = client.get(url).text
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(" in html
    r = client.get(f"/items/{item_id}")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_page_image_and_missing_pages(client_for, make_item) -> None:  # type: ignore[no-untyped-def]
    item_id, _ = make_item()
    client = client_for("auditor")
    r = client.get(f"/items/{item_id}/pages/0")
    assert r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(f"/items/{item_id}/pages/7").status_code == 404
    assert client.get("/items/99999").status_code == 404
    assert client.get("/items/not-a-number").status_code in (404, 422)


def test_detail_page_overlays_a_box_for_every_extracted_field(client_for, make_item) -> None:  # type: ignore[no-untyped-def]
    item_id, env = make_item(("iban_changed", "low_confidence"))
    html = client_for("reviewer").get(f"/items/{item_id}").text
    for name, field in env.payload.document.fields.items():
        assert field.provenance and f'data-field="{name}"' in html
    assert 'viewBox="0 0 1240.0 1754.0"' in html
    assert "The IBAN differs from the vendor master" in html and "needs two approvers" in html


def test_revoked_sessions_are_signed_out(client_for, sessions) -> None:  # type: ignore[no-untyped-def]
    client = client_for("reviewer")
    assert client.get("/queue").status_code == 200
    with sessions.begin() as db:
        db.execute(
            update(User).where(User.username == "reviewer").values(session_version=User.session_version + 1)
        )
    assert client.get("/queue").status_code == 303


def test_queue_filters_and_bad_parameters(client_for, make_item) -> None:  # type: ignore[no-untyped-def]
    make_item(("po_unmatched",))
    make_item(("low_confidence",), vendor="Zeta Ltd")
    client = client_for("auditor")
    html = client.get("/queue?reason=po_unmatched").text
    assert "po_unmatched <b>1</b>" in html and "low_confidence <b>1</b>" in html
    assert "Zeta Ltd" not in html
    assert "Zeta Ltd" in client.get("/queue?vendor=zet").text
    r = client.get("/queue?sort=evil&after=%%%")
    assert r.status_code == 400 and "Unknown sort" in r.text
    assert client.get("/queue?after=bm90LWpzb24").status_code == 400
