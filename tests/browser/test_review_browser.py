"""The review app through a real browser: sign in, claim, correct, approve; dual control; auditor."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import LiveApp, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _alert(page) -> str:  # type: ignore[no-untyped-def]
    return page.inner_text("[role=alert]")


def submit(page, selector: str) -> None:  # type: ignore[no-untyped-def]
    """Click a link or form button and wait for the resulting page (POST-redirect-GET)."""
    with page.expect_navigation():
        page.click(selector)


def test_reviewer_signs_in_claims_corrects_a_field_and_approves(live_app: LiveApp, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    sign_in(page, live_app, "ann")
    assert "Exception queue" in page.inner_text("h1")
    assert page.locator(".reasons a", has_text="low_confidence").count() == 1
    item = live_app.items["simple"]
    submit(page, f"a[href='/items/{item}']")
    submit(page, "button:has-text('Claim')")
    assert "You claimed this item" in page.inner_text("[role=status]")
    # every extracted field has its OCR box drawn over the page image
    assert page.locator("svg rect.box").count() >= 12
    page.wait_for_function("document.querySelector('.page img').complete")
    page.fill("input[name=f_total]", "1,009.90")
    submit(page, "button:has-text('Save corrections')")
    assert "Your corrections were saved" in page.inner_text("[role=status]")
    assert page.input_value("input[name=f_total]") == "1009.90"
    page.hover("tr[data-field=total]")
    shot(page, "review-detail")
    submit(page, "button:has-text('Approve')")
    assert "Approved." in page.inner_text("[role=status]")
    assert "approved" in page.inner_text(".state .tag")


def test_dual_control_item_needs_a_second_different_approver(live_app: LiveApp, new_page) -> None:  # type: ignore[no-untyped-def]
    item = live_app.items["dual"]
    ann = new_page()
    sign_in(ann, live_app, "ann")
    ann.goto(f"{live_app.url}/items/{item}")
    assert "bank details are new or changed" in ann.inner_text(".dual")
    assert "above the dual-control threshold" in ann.inner_text(".dual")
    submit(ann, "button:has-text('Claim')")
    submit(ann, "button:has-text('Approve (first of two)')")
    assert "First approval recorded" in ann.inner_text("[role=status]")
    # ann (a reviewer) may not add the second approval herself
    submit(ann, "button:has-text('Claim')")
    submit(ann, "button:has-text('Give second approval')")
    assert "needs an approver" in _alert(ann)
    submit(ann, "button:has-text('Release')")

    bob = new_page()
    sign_in(bob, live_app, "bob")
    bob.goto(f"{live_app.url}/queue?state=awaiting_second")
    assert bob.locator(f"a[href='/items/{item}']").count() == 1
    submit(bob, f"a[href='/items/{item}']")
    assert "First approval by ann" in bob.inner_text(".dual")
    submit(bob, "button:has-text('Claim')")
    shot(bob, "review-dual-second-approver")
    submit(bob, "button:has-text('Give second approval')")
    assert "Approved." in bob.inner_text("[role=status]")


def test_auditor_can_look_but_is_denied_an_edit(live_app: LiveApp, new_page) -> None:  # type: ignore[no-untyped-def]
    item = live_app.items["audited"]
    page = new_page()
    sign_in(page, live_app, "dave")
    page.goto(f"{live_app.url}/items/{item}")
    assert page.locator("button:has-text('Claim')").count() == 0
    assert page.locator("input[name^=f_]").count() == 0
    # a hand-made edit post with a valid CSRF token is still refused by the permission table
    csrf = page.get_attribute("input[name=csrf]", "value")
    page.set_content(f"""<form method=post action="{live_app.url}/items/{item}/edit">
        <input name=csrf value="{csrf}"><input name=version value=1><input name=f_total value=1.00>
        <button id=go>go</button></form>""")
    with page.expect_navigation():
        page.click("#go")
    assert "does not allow this (item.edit)" in _alert(page)
    shot(page, "review-auditor-denied")
    page.goto(f"{live_app.url}/audit")
    assert re.search(r"Chain intact: \d+ records", page.inner_text(".flash"))
    page.goto(f"{live_app.url}/items/{item}")
    assert page.inner_text("[data-field=total] td:last-child").strip().startswith("999.60")
