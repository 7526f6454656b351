"""Last in the browser run (hence the name): a reset link and an invitation go through a real
browser, then every log of the stack is searched for one-time tokens. None may appear."""

from __future__ import annotations

import re

from .key_pages import invitation_path
from .stack import DEMO_PASSWORD

TOKEN_IN_PATH = re.compile(r"(?:/|%2F)(?:invite|reset)(?:/|%2F)[A-Za-z0-9_\-]{16,}", re.I)
NEW_PASSWORD = "a fresh long secret for the log test"


def _sign_in(page, base: str, login: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("form.card button.primary")


def test_no_token_reaches_any_log_of_the_browser_run(browser, e2e):  # type: ignore[no-untyped-def]
    base = e2e.base_url
    coordinator = browser.new_context()
    page = coordinator.new_page()
    _sign_in(page, base, "coord-hoasen", DEMO_PASSWORD)
    page.goto(base + "/g/hoa-sen/logins")
    page.click('li.item:has-text("peer-hoasen") form[action$="/reset"] button')
    reset_link = page.input_value("#link")
    assert "/reset/" in reset_link
    coordinator.close()

    phone = browser.new_context()
    page = phone.new_page()
    page.goto(reset_link)
    page.fill("input[name=password]", NEW_PASSWORD)
    page.fill("input[name=confirm]", NEW_PASSWORD)
    page.click("form.card button.primary")
    _sign_in(page, base, "peer-hoasen", NEW_PASSWORD)
    assert "/g/hoa-sen/" in page.url
    invitation = invitation_path(e2e)
    page.goto(base + invitation)
    page.goto(base + invitation + "/join")  # signed in: straight to the join page
    phone.close()

    # The demo password again, for anything that runs after.
    with e2e.app_context():
        from harmnet.extensions import db
        from harmnet.services import accounts

        accounts.set_password(accounts.find_user("peer-hoasen"), DEMO_PASSWORD)
        db.session.commit()

    tokens = [reset_link.rsplit("/", 1)[1], invitation.rsplit("/", 1)[1]]
    logs = {p.name: p.read_text(errors="replace") for p in e2e.workdir.rglob("*.log")}
    assert "web.log" in logs and "/reset/[redacted]" in logs["web.log"]
    for name, text in logs.items():
        assert not TOKEN_IN_PATH.search(text), name
        for token in tokens:
            assert token not in text, name
