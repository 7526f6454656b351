"""Two-step sign-in: enrolment by QR code, codes, recovery codes, remembered devices, and
the setting that requires it of coordinators, department staff and admins."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from harmnet.models import AuditEvent, User
from tests.support import PASSWORD, audit_trail, login, post_form

SETUP = "/account/two-step"
STEP = "/login/two-step"


def enrol(client) -> tuple[pyotp.TOTP, list[str]]:  # type: ignore[no-untyped-def]
    page = client.get(SETUP).get_data(as_text=True)
    assert "<svg" in page  # the QR code, drawn in the page
    secret = re.search(r"<code>([A-Z2-7]{32})</code>", page).group(1)
    totp = pyotp.TOTP(secret)
    r = post_form(client, SETUP, {"action": "enable", "code": totp.now()})
    assert r.status_code == 200, r.get_data(as_text=True)[-1500:]
    codes = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", r.get_data(as_text=True))
    assert len(codes) == 10
    return totp, codes


def next_code(totp: pyotp.TOTP) -> str:
    # The enrolment spent this 30-second step; the next step's code is within the window.
    return totp.at(time.time() + 30)


def password_step(client, login_name: str):  # type: ignore[no-untyped-def]
    r = login(client, login_name)
    assert r.status_code == 302 and r.headers["Location"].endswith(STEP)
    return r


def test_enrol_then_sign_in_with_a_code(client, app, db, make_user):
    make_user("lan")
    login(client, "lan")
    totp, _codes = enrol(client)
    phone = app.test_client()
    password_step(phone, "lan")
    assert phone.get("/account").status_code == 302  # not signed in yet
    page = phone.get(STEP).get_data(as_text=True)
    assert 'name="remember"' in page and "checked" not in page.split('name="remember"')[1][:60]
    r = post_form(phone, STEP, {"code": next_code(totp)})
    assert r.status_code == 302
    assert phone.get("/account").status_code == 200
    event = audit_trail(select(AuditEvent).where(AuditEvent.action == "login.success")
                        .order_by(AuditEvent.id.desc()))[0]
    assert event.detail == {"second_step": "totp"}
    assert totp.secret not in (db.session.scalar(select(User.totp_secret)) or "")  # encrypted


def test_a_code_is_never_accepted_twice(client, app, make_user):
    make_user("lan")
    login(client, "lan")
    totp, _codes = enrol(client)
    code = next_code(totp)
    first, second = app.test_client(), app.test_client()
    password_step(first, "lan")
    assert post_form(first, STEP, {"code": code}).status_code == 302
    password_step(second, "lan")
    assert post_form(second, STEP, {"code": code}).status_code == 400


def test_wrong_code_rerenders_with_a_message_and_is_rate_limited(client, app, make_user):
    make_user("lan")
    login(client, "lan")
    totp, _codes = enrol(client)
    phone = app.test_client()
    password_step(phone, "lan")
    r = post_form(phone, STEP, {"code": "000000"})
    assert r.status_code == 400 and "not right" in r.get_data(as_text=True)
    statuses = [post_form(phone, STEP, {"code": "000000"}).status_code for _ in range(4)]
    assert statuses == [400] * 4
    assert post_form(phone, STEP, {"code": "000000"}).status_code == 429
    # The right code too, while the limit holds: guessing gains nothing.
    assert post_form(phone, STEP, {"code": next_code(totp)}).status_code == 429
    assert phone.get("/account").status_code == 302


def test_recovery_code_works_once(client, app, make_user):
    make_user("lan")
    login(client, "lan")
    _totp, codes = enrol(client)
    phone = app.test_client()
    password_step(phone, "lan")
    r = post_form(phone, STEP, {"code": codes[0]})
    assert r.status_code == 302
    assert "9" in phone.get(r.headers["Location"], follow_redirects=True).get_data(as_text=True)
    again = app.test_client()
    password_step(again, "lan")
    assert post_form(again, STEP, {"code": codes[0]}).status_code == 400
    assert post_form(again, STEP, {"code": codes[1].upper()}).status_code == 302


def test_remember_this_device_skips_the_code_until_the_password_changes(client, app,
                                                                        make_user):
    make_user("lan")
    login(client, "lan")
    totp, _codes = enrol(client)
    phone = app.test_client()
    password_step(phone, "lan")
    assert post_form(phone, STEP, {"code": next_code(totp), "remember": "y"}).status_code == 302
    post_form(phone, "/logout", page="/account")
    r = login(phone, "lan")
    assert r.status_code == 302 and not r.headers["Location"].endswith(STEP)
    # Another device without the cookie is asked.
    password_step(app.test_client(), "lan")
    # A password change forgets every remembered device.
    post_form(phone, "/account", {"action": "password", "pw-current_password": PASSWORD,
                                  "pw-new_password": "another long secret",
                                  "pw-confirm": "another long secret"})
    post_form(phone, "/logout", page="/account")
    r = login(phone, "lan", "another long secret")
    assert r.headers["Location"].endswith(STEP)


def test_turning_it_off_needs_a_code(client, app, make_user):
    make_user("lan")
    login(client, "lan")
    totp, _codes = enrol(client)
    assert post_form(client, SETUP, {"action": "disable", "code": "123456"}).status_code == 400
    r = post_form(client, SETUP, {"action": "disable", "code": next_code(totp)})
    assert r.status_code == 302
    phone = app.test_client()
    assert login(phone, "lan").headers["Location"].endswith(STEP) is False


@pytest.mark.parametrize("lang, words", [("en", "Two-step sign-in"),
                                         ("vi", "Đăng nhập hai bước")])
def test_second_step_page_in_both_languages(client, app, make_user, lang, words):
    make_user("lan", locale=lang)
    login(client, "lan")
    enrol(client)
    phone = app.test_client()
    password_step(phone, "lan")
    assert words in phone.get(STEP).get_data(as_text=True)


def test_no_pending_sign_in_sends_back_to_the_sign_in_page(client):
    r = client.get(STEP)
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")


# --- required by a setting (production's default) -------------------------------------------


def test_required_for_a_coordinator_when_the_setting_is_on(client, app, db, two_groups):
    a, _b, _users = two_groups
    app.config["TOTP_REQUIRED"] = True
    login(client, "a-coord")
    r = client.get(f"/g/{a.slug}/")
    assert r.status_code == 302 and r.headers["Location"].endswith(SETUP)
    # The API answers what a program can read: a problem naming the set-up page.
    r = client.get("/api/v1/me")
    assert r.status_code == 403 and r.mimetype == "application/problem+json"
    assert r.json["setup"].endswith(SETUP) and "two-step" in r.json["detail"]
    totp, _codes = enrol(client)
    assert client.get("/api/v1/me").status_code == 200
    assert client.get(f"/g/{a.slug}/").status_code == 200
    # It cannot be turned off while required.
    r = post_form(client, SETUP, {"action": "disable", "code": next_code(totp)})
    assert r.status_code == 400
    # A peer educator is only offered it.
    peer = app.test_client()
    login(peer, "a-peer")
    assert peer.get(f"/g/{a.slug}/").status_code == 200


def test_only_offered_in_the_embedded_default(client, two_groups):
    a, _b, _users = two_groups
    login(client, "a-coord")
    assert client.get(f"/g/{a.slug}/").status_code == 200


def test_required_for_department_staff_and_admins(client, app, make_department, make_user):
    app.config["TOTP_REQUIRED"] = True
    city = make_department("city")
    make_user("viewer", department=city, role="viewer")
    make_user("root", is_admin=True)
    for name, page in (("viewer", "/d/city/"), ("root", "/admin/")):
        c = app.test_client()
        login(c, name)
        assert c.get(page).headers["Location"].endswith(SETUP)
