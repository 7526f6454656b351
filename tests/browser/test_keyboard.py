"""Signing in with the keyboard alone: skip link, Tab order, Enter submits."""

from __future__ import annotations

from .stack import DEMO_PASSWORD
from .ui import DEMO


def focused(ui) -> dict:  # type: ignore[no-untyped-def]
    return ui.page.evaluate(
        """() => { const el = document.activeElement, r = el.getBoundingClientRect();
                   return {id: el.id, cls: el.className, tag: el.tagName,
                           visible: r.width > 0 && r.height > 0 && r.left >= 0 &&
                                    r.top >= 0 && r.right <= innerWidth};}"""
    )


def test_sign_in_with_the_keyboard_only(ui):
    ui.goto("/login", lang="any")
    if ui.html_lang() != ui.lang:
        ui.choose_language(ui.lang)

    # The first Tab shows the skip link; Enter on it jumps over the header to the form.
    ui.page.keyboard.press("Tab")
    first = focused(ui)
    assert first["cls"] == "skip" and first["visible"], first
    ui.page.keyboard.press("Enter")
    ui.page.keyboard.press("Tab")
    assert focused(ui)["id"] == "login"
    ui.page.keyboard.type(DEMO["coordinator"].login)
    ui.page.keyboard.press("Tab")
    assert focused(ui)["id"] == "password"
    ui.page.keyboard.type(DEMO_PASSWORD)
    with ui.page.expect_navigation() as nav:
        ui.page.keyboard.press("Enter")
    ui._arrived(nav.value, 200, None)
    assert ui.path == DEMO["coordinator"].landing


def test_the_language_switch_and_sign_out_work_from_the_keyboard(ui):
    ui.sign_in("peer_educator")
    other = {"vi": "English", "en": "Tiếng Việt"}[ui.lang]
    button = ui.page.locator("footer").get_by_role("button", name=other, exact=True)
    button.focus()
    with ui.page.expect_navigation():
        ui.page.keyboard.press("Enter")
    assert ui.html_lang() != ui.lang
    sign_out = ui.page.locator("footer form").last.get_by_role("button")
    sign_out.focus()
    with ui.page.expect_navigation():
        ui.page.keyboard.press("Space")
    assert ui.path.startswith("/login")
