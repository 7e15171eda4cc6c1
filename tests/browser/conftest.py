"""A live review server (uvicorn in a thread) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from pipeline.blobstore import open_blobstore
from pipeline.config import Settings
from pipeline.review import demo
from pipeline.review.intake import enqueue
from pipeline.review.pgtemp import free_port
from pipeline.review.store import open_store
from pipeline.review.users import add_user
from pipeline.review.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORD = "correct horse battery"
USERS = {"ann": "reviewer", "bob": "approver", "carol": "approver", "dave": "auditor"}


@dataclass
class LiveApp:
    url: str
    items: dict[str, int]
    settings: Settings


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    home = tmp_path_factory.mktemp("review-browser")
    settings = Settings(home=home, review_secret_key="browser-test-" + "k" * 40)
    engine, sessions = open_store(settings)
    blobs = open_blobstore(settings.blob_root)
    items: dict[str, int] = {}
    with sessions.begin() as db:
        for name, role in USERS.items():
            add_user(db, name, PASSWORD, role, name.capitalize())
        for key, failed, invoice in (
            ("simple", ("low_confidence",), demo.DemoInvoice(total="999.90")),
            (
                "dual",
                ("iban_changed",),
                demo.DemoInvoice(vendor="Globex Industrial BV", total="48250.00", invoice_number="GX-88812"),
            ),
            (
                "audited",
                ("po_unmatched", "vendor_unknown"),
                demo.DemoInvoice(vendor="Initech Ltd", po_number="PO-0000"),
            ),
        ):
            blob, boxes = demo.store_invoice(blobs, invoice)
            doc = demo.normalized_document(invoice, blob, boxes, {"total": 0.62})
            items[key], _ = enqueue(db, demo.decision_envelope(doc, list(failed), salt=key), sla_hours=48)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "review server did not start"
    try:
        yield LiveApp(f"http://127.0.0.1:{port}", items, settings)
    finally:
        server.should_exit = True
        thread.join(10)
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_page(browser):  # type: ignore[no-untyped-def]
    contexts = []

    def make():  # type: ignore[no-untyped-def]
        ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def sign_in(page, live: LiveApp, user: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live.url}/queue")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/queue")


def shot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
