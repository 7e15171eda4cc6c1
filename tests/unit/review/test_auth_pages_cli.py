"""Sessions, page rendering (PDF via pypdfium2, images via Pillow), keyset pages and the CLI commands."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image
from reportlab.pdfgen import canvas
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from pipeline.review import queue
from pipeline.review.auth import SessionCodec, SessionData, csrf_ok, hash_password, verify_password
from pipeline.review.models import AuditRecord
from pipeline.review.web.pages import PageError, geometry, render_page


def test_password_hashes_are_argon2id_and_salted() -> None:
    a, b = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert a != b and a.startswith("$argon2id$")
    assert verify_password(a, "correct horse battery") and not verify_password(a, "wrong horse battery")
    assert not verify_password("not a hash", "x")
    with pytest.raises(ValueError, match="at least"):
        hash_password("short")


def test_session_cookie_is_signed_and_expires() -> None:
    codec = SessionCodec("k" * 40, ttl_s=1)
    data = SessionData(7, 1, "token")
    cookie = codec.dumps(data)
    assert codec.loads(cookie) == data
    assert codec.loads(cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")) is None  # tampered
    assert SessionCodec("other-key" * 5, ttl_s=60).loads(cookie) is None  # foreign key
    assert codec.loads("x" * 5000) is None
    time.sleep(2.1)
    assert codec.loads(cookie) is None  # expired
    assert csrf_ok(data, "token") and not csrf_ok(data, "tokem") and not csrf_ok(data, None)


def _pdf(pages: int) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(595, 842))
    for i in range(pages):
        c.drawString(72, 770, f"Invoice page {i + 1}")
        c.showPage()
    c.save()
    return buf.getvalue()


def test_pdf_pages_render_and_geometry_follows_the_ocr_dpi() -> None:
    data = _pdf(2)
    pages = geometry(data, "application/pdf", 200.0)
    assert [p.index for p in pages] == [0, 1]
    assert pages[0].width == pytest.approx(595 * 200 / 72) and pages[0].height == pytest.approx(
        842 * 200 / 72
    )
    png = render_page(data, "application/pdf", 1)
    with Image.open(io.BytesIO(png)) as img:
        assert img.format == "PNG" and img.width > 595
    with pytest.raises(PageError):
        render_page(data, "application/pdf", 2)


def test_images_render_and_corrupt_documents_fail_cleanly() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), "white").save(buf, format="JPEG")
    assert geometry(buf.getvalue(), "image/jpeg", 200.0)[0].width == 300
    assert render_page(buf.getvalue(), "image/jpeg", 0)[:4] == b"\x89PNG"
    for media in ("application/pdf", "image/png"):
        with pytest.raises(PageError):
            geometry(b"%PDF-1.7 garbage" if media == "application/pdf" else b"\x89PNG garbage", media, 200.0)
    with pytest.raises(PageError, match="no preview"):
        geometry(b"{}", "application/json", 200.0)


def test_keyset_pages_visit_every_open_item_exactly_once(sessions, make_item) -> None:  # type: ignore[no-untyped-def]
    for i in range(23):
        make_item(
            ("po_unmatched",) if i % 2 else ("low_confidence",), total=f"{i % 5}.00", vendor=f"V{i % 3}"
        )
    for sort in queue.SORTS:
        for desc in (False, True):
            seen: list[int] = []
            q = queue.QueueQuery(sort=sort, desc=desc, limit=4)
            with sessions() as db:
                while True:
                    page = queue.queue_page(db, q)
                    seen += [item.id for item, _ in page.rows]
                    if page.next_after is None:
                        break
                    q = queue.parse_query(
                        {
                            "sort": sort,
                            "dir": "desc" if desc else "asc",
                            "after": queue.encode_cursor(page.next_after),
                        },
                        4,
                    )
            assert sorted(seen) == list(range(1, 24)), (sort, desc)
    with sessions() as db:
        assert dict(queue.reason_counts(db)) == {"po_unmatched": 11, "low_confidence": 12}


def test_users_add_and_audit_verify_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sessions: sessionmaker[Session], settings
) -> None:  # type: ignore[no-untyped-def]
    from pipeline.cli import app
    from pipeline.config import get_settings

    monkeypatch.setenv("DOCPIPE_HOME", str(settings.home))
    get_settings.cache_clear()
    try:
        pw = tmp_path / "pw"
        pw.write_text("correct horse battery\n")
        runner = CliRunner()
        ok = runner.invoke(
            app,
            [
                "users",
                "add",
                "erin",
                "--role",
                "reviewer",
                "--role",
                "approver",
                "--password-file",
                str(pw),
                "--json",
            ],
        )
        assert ok.exit_code == 0, ok.output
        assert '"roles": "approver,reviewer"' in ok.output
        dup = runner.invoke(app, ["users", "add", "erin", "-r", "reviewer", "--password-file", str(pw)])
        assert dup.exit_code == 1 and "already exists" in dup.output
        bad = runner.invoke(app, ["users", "add", "finn", "-r", "boss", "--password-file", str(pw)])
        assert bad.exit_code == 1 and "unknown role" in bad.output
        good = runner.invoke(app, ["audit", "verify"])
        assert good.exit_code == 0 and "audit chain intact" in good.output
        with sessions.begin() as db:
            db.execute(update(AuditRecord).values(actor="mallory"))
        broken = runner.invoke(app, ["audit", "verify"])
        assert broken.exit_code == 1 and "BROKEN at record 1" in broken.output
    finally:
        get_settings.cache_clear()
