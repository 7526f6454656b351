"""Signing in and out, languages and invitations, as each demo role does it in a real browser,
in Vietnamese and English, on a 360 px phone and a 1280 px laptop."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import expect

from .key_pages import invitation_path
from .ui import DEMO, OTHER, translate


@pytest.mark.parametrize("role", ["coordinator", "peer_educator", "department_viewer", "admin"])
def test_each_role_signs_in_and_reaches_its_landing_page(ui, role):
    demo = ui.sign_in(role)

    assert ui.path == demo.landing
    assert ui.heading() == (demo.heading or ui.t("Administration"))
    nav = ui.nav_texts()
    assert ui.t("My places") in nav
    if role == "coordinator":
        assert ui.t("Logins") in nav
        ui.nav("Logins")
        assert ui.heading() == ui.t("Logins")
    elif role == "peer_educator":
        assert ui.t("Logins") not in nav
        # A coordinator's page answers a peer educator with a readable "not allowed" page.
        ui.goto("/g/hoa-sen/logins", status=403)
    elif role == "department_viewer":
        # Group pages do not exist for department staff (no group data, not even its pages).
        ui.goto("/g/hoa-sen/", status=404)
    ui.nav("My places")
    assert ui.heading() == ui.t("Where do you want to work?")
    ui.follow(ui.page.locator("header a.me"))
    assert ui.heading() == ui.t("My account")


def test_language_switch_changes_the_page_and_is_remembered(ui):
    start, other = ui.lang, OTHER[ui.lang]  # (choose_language changes ui.lang)
    ui.goto("/login", lang="any")
    if ui.html_lang() != start:
        ui.choose_language(start)
    assert ui.heading() == translate(start, "Sign in")

    ui.choose_language(other)
    assert ui.html_lang() == other
    assert translate(other, "Sign in") != translate(start, "Sign in")  # really other words
    assert ui.heading() == translate(other, "Sign in")
    assert ui.field("Login name").is_visible()
    ui.choose_language(start)
    assert ui.heading() == translate(start, "Sign in")

    # Signed in, the switch is on every page and becomes the person's saved language.
    menu = ("Home", "Logins", "My places")
    ui.sign_in("coordinator")
    assert set(translate(start, t) for t in menu) <= set(ui.nav_texts())
    ui.choose_language(other)
    assert ui.path == DEMO["coordinator"].landing  # the switch stays on the same page
    assert set(translate(other, t) for t in menu) <= set(ui.nav_texts())
    assert not set(translate(start, t) for t in menu) & set(ui.nav_texts())
    ui.sign_out()
    assert ui.html_lang() == other

    later = ui.another_person(lang=other)  # the same person, another day, another device
    later.sign_in("coordinator")
    assert later.html_lang() == other
    assert set(translate(other, t) for t in menu) <= set(later.nav_texts())


def test_coordinator_invites_a_member_who_sets_a_password_and_lands_on_the_group(ui):
    ui.sign_in("coordinator")
    ui.nav("Logins")
    ui.link("Invite someone", within="main")
    assert ui.heading() == ui.t("Invite someone")
    alias = f"Hồng {secrets.token_hex(2)}"
    ui.fill({"Name to recognise them by (an alias is fine)": alias, "Role": "peer_educator"})
    ui.button("Create invitation link", within="main")
    assert ui.heading() == ui.t("Invitation link")
    link = ui.page.locator("#link").input_value()
    assert "/invite/" in link and alias not in link  # no name in a URL

    # The new member opens the link on their own phone: nobody is signed in there.
    member = ui.another_person()
    member.goto(link, lang="any")
    if member.html_lang() != member.lang:
        member.choose_language(member.lang)
    assert member.heading() == member.t("Create your login")
    assert member.field("Your name as others see it (an alias is fine)").input_value() == alias
    login = f"hong-{ui.lang}-{ui.viewport}-{secrets.token_hex(2)}"
    member.fill({
        "Choose a login name": login,
        "Choose a password": "hoa sen buoi sang",
        "Repeat the password": "hoa sen buoi sang",
    })
    member.button("Create my login", within="main")
    assert member.path == DEMO["coordinator"].landing
    assert member.heading() == "CLB Hoa Sen"
    assert member.t("Welcome! Your login is ready.") in member.flashes()
    assert member.t("Logins") not in member.nav_texts()  # a peer educator

    # The link worked once; opened again it explains itself instead of failing.
    again = ui.another_person()
    again.goto(link, status=404, lang="any")  # a new visitor: the default language
    assert again.heading() == translate(again.html_lang(), "This invitation link does not work")

    # The coordinator sees the new login in the group's list.
    ui.nav("Logins")
    assert alias in ui.page.locator("main").inner_text()

    member.sign_out()
    assert member.path.startswith("/login")


def test_sign_out_ends_the_session_and_back_shows_nothing(ui):
    demo = ui.sign_in("peer_educator")
    ui.sign_out()
    assert ui.path.startswith("/login")
    assert ui.heading() == ui.t("Sign in")
    assert ui.t("You are signed out.") in ui.flashes()
    # On a shared phone, Back must not bring the group's page back (pages are no-store).
    ui.page.go_back()
    ui.page.wait_for_load_state()
    assert ui.path.startswith("/login")
    ui.goto(demo.landing.rstrip("/") + "/logins", lang="any")
    assert ui.path.startswith("/login")


def test_a_wrong_password_is_explained_on_the_same_page(ui):
    ui.goto("/login", lang="any")
    if ui.html_lang() != ui.lang:
        ui.choose_language(ui.lang)
    ui.fill({"Login name": DEMO["coordinator"].login, "Password": "not the password"})
    ui.button("Sign in", within="main")
    assert ui.heading() == ui.t("Sign in")
    assert ui.t("The login name or password is not right.") in ui.flashes()
    assert ui.field("Login name").input_value() == DEMO["coordinator"].login
    assert ui.field("Password").input_value() == ""


def test_mistakes_on_the_invitation_form_are_explained_at_each_field(ui, e2e):
    link = invitation_path(e2e)
    ui.goto(link, lang="any")
    if ui.html_lang() != ui.lang:
        ui.choose_language(ui.lang)
    ui.fill({
        "Choose a login name": "A b",
        "Choose a password": "short",
        "Repeat the password": "shorter",
    })
    ui.button("Create my login", within="main", status=400)

    # The refused form opens on its error summary (focused), which links to each field.
    summary = ui.page.locator("main .error-summary")
    expect(summary).to_be_focused()
    assert ui.t("Please correct the fields marked below.") in summary.inner_text()
    login = ui.field("Choose a login name")
    first = summary.get_by_role("link").first
    assert first.get_attribute("href") == "#" + login.get_attribute("id")
    assert login.input_value() == "A b"  # the person's values are kept
    expect(login).to_have_attribute("aria-invalid", "true")
    expect(login).to_have_accessible_description(re.compile(re.escape(
        ui.t("Use 3 to 60 letters a-z, digits, dots, dashes or underscores."))))
    password = ui.field("Choose a password")
    # The hint and the error are both read out with the field.
    expect(password).to_have_accessible_description(re.compile(
        re.escape(ui.t("At least 10 characters.")) + ".*" +
        re.escape(ui.t("The password must have at least 10 characters."))))
    expect(ui.field("Repeat the password")).to_have_accessible_description(
        re.compile(re.escape(ui.t("The two passwords differ."))))
