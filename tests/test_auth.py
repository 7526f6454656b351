"""Signing in and out, throttling, session limits, passwords and invitations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from harmnet.models import AuditEvent, GroupMembership, Invitation, User
from harmnet.models._types import utcnow
from harmnet.security import password_problem
from tests.support import PASSWORD, audit_trail, in_group, login, membership_id, post_form


def test_wrong_password_rerenders_with_login_kept_and_message(client, make_user):
    user = make_user("lan")
    response = post_form(client, "/login", {"login": "lan", "password": "wrong password!"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="lan"' in html
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in html or "not right" in html
    assert "wrong password!" not in html  # the password is never echoed back
    assert user.login == "lan"


def test_login_success_and_failure_are_audited_without_secrets(client, db, make_user):
    make_user("lan")
    post_form(client, "/login", {"login": "lan", "password": "nope nope nope"})
    login(client, "lan")
    events = audit_trail(select(AuditEvent).order_by(AuditEvent.id))
    actions = [e.action for e in events]
    assert "login.failure" in actions and "login.success" in actions
    for e in events:
        assert "nope" not in str(e.detail) and PASSWORD not in str(e.detail)


def test_ten_wrong_passwords_in_a_minute_give_429(client, make_user):
    make_user("lan")
    statuses = [
        post_form(client, "/login", {"login": "lan", "password": f"wrong-{i}-password"}).status_code
        for i in range(11)
    ]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429
    # The right password is refused too while the limit holds, with a page in the language.
    blocked = post_form(client, "/login", {"login": "lan", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Quá nhiều lần thử" in blocked.get_data(as_text=True)


def test_successful_logins_do_not_count_against_the_limit(client, make_user):
    make_user("lan")
    for _ in range(12):
        assert login(client, "lan").status_code == 302
        post_form(client, "/logout", page="/account")


def test_deactivated_users_open_session_fails_on_next_request(client, db, two_groups, app):
    a, _b, users = two_groups
    login(client, users["a_peer"].login)
    assert client.get(f"/g/{a.slug}/").status_code == 200
    other = app.test_client()
    login(other, users["a_coord"].login)
    mid = membership_id(db, a.id, users["a_peer"].id)
    r = post_form(other, f"/g/{a.slug}/logins/{mid}/deactivate", {"confirmed": "yes"},
                  page=f"/g/{a.slug}/logins")
    assert r.status_code == 302
    response = client.get(f"/g/{a.slug}/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert db.session.get(User, users["a_peer"].id).is_active is False
    # And the password no longer opens a session.
    assert login(client, users["a_peer"].login).status_code == 200


def test_deactivating_in_one_group_keeps_the_login_of_someone_with_a_role_elsewhere(
        client, db, two_groups, app):
    # On PostgreSQL, RLS shows the coordinator only group A's memberships: the person's
    # role in B must still be seen, or the whole login would be switched off.
    from harmnet.services import org

    a, b, users = two_groups
    org.grant_group_role(b, users["a_peer"], "peer_educator")
    db.session.commit()
    coordinator = app.test_client()
    login(coordinator, users["a_coord"].login)
    mid = membership_id(db, a.id, users["a_peer"].id)
    r = post_form(coordinator, f"/g/{a.slug}/logins/{mid}/deactivate",
                  {"confirmed": "yes"}, page=f"/g/{a.slug}/logins")
    assert r.status_code == 302
    assert db.session.get(User, users["a_peer"].id).is_active is True
    assert login(client, users["a_peer"].login).status_code == 302
    assert client.get(f"/g/{a.slug}/").status_code == 404
    assert client.get(f"/g/{b.slug}/").status_code == 200


def test_session_cookie_is_hardened(client, make_user):
    make_user("lan")
    response = login(client, "lan")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize(
    ("password", "problem"),
    [("short", "too_short"), ("password123", "too_common"), ("1234567890", "too_common"),
     ("x" * 129, "too_long"), ("lan-login-name", "same_as_login"),
     ("mùa thu Hà Nội đẹp", None)],
)
def test_password_rules(password, problem):
    assert password_problem(password, "lan-login-name") == problem


def test_change_password_requires_current_and_strong_new(client, db, make_user):
    user = make_user("lan")
    login(client, "lan")
    r = post_form(client, "/account", {"action": "password", "pw-current_password": "wrong",
                                       "pw-new_password": "a new long secret",
                                       "pw-confirm": "a new long secret"})
    assert r.status_code == 400
    r = post_form(client, "/account", {"action": "password", "pw-current_password": PASSWORD,
                                       "pw-new_password": "qwertyuiop",
                                       "pw-confirm": "qwertyuiop"})
    assert r.status_code == 400 and "too common" in r.get_data(as_text=True)
    r = post_form(client, "/account", {"action": "password", "pw-current_password": PASSWORD,
                                       "pw-new_password": "a new long secret",
                                       "pw-confirm": "a new long secret"})
    assert r.status_code == 302
    # This device stays signed in; the new password works.
    assert client.get("/account").status_code == 200
    post_form(client, "/logout", page="/account")
    assert login(client, user.login, "a new long secret").status_code == 302


def test_account_language_choice_switches_the_interface(client, make_user):
    make_user("lan", locale="en")
    login(client, "lan")
    assert "My account" in client.get("/account").get_data(as_text=True)
    post_form(client, "/account", {"action": "profile", "display_name": "Lan", "locale": "vi"})
    assert "Tài khoản của tôi" in client.get("/account").get_data(as_text=True)


# --- invitations --------------------------------------------------------------------------


def _invite(client, group, label="Mai", role="peer_educator"):
    r = post_form(client, f"/g/{group.slug}/logins/invite", {"label": label, "role": role})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    start = html.index("/invite/")
    return html[start:html.index('"', start)]


def test_invitation_link_works_once(client, app, db, make_group, make_user):
    group = make_group()
    make_user("coord", group=group, role="coordinator")
    login(client, "coord")
    link = _invite(client, group)
    with in_group(group.id):
        stored = db.session.scalar(select(Invitation))
        assert stored.token_hash not in link and link.split("/invite/")[1] not in stored.token_hash
    phone = app.test_client()
    page = phone.get(link)
    assert page.status_code == 200 and 'value="Mai"' in page.get_data(as_text=True)
    r = post_form(phone, link, {"display_name": "Mai", "login": "mai.peer",
                                "password": "my own long secret", "confirm": "my own long secret"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/g/{group.slug}/")
    assert phone.get(f"/g/{group.slug}/").status_code == 200
    again = app.test_client()
    assert again.get(link).status_code == 404
    with in_group(group.id):
        roles = {m.user_id: m.role for m in db.session.scalars(select(GroupMembership))}
    new_user = db.session.scalar(select(User).where(User.login == "mai.peer"))
    assert roles[new_user.id] == "peer_educator"


def test_invitation_link_fails_after_expiry(client, app, db, make_group, make_user):
    group = make_group()
    make_user("coord", group=group, role="coordinator")
    login(client, "coord")
    link = _invite(client, group)
    with in_group(group.id):
        invitation = db.session.scalar(select(Invitation))
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert app.test_client().get(link).status_code == 404


def test_invitation_with_taken_login_keeps_values(client, app, make_group, make_user):
    group = make_group()
    make_user("coord", group=group, role="coordinator")
    make_user("taken")
    login(client, "coord")
    link = _invite(client, group)
    phone = app.test_client()
    r = post_form(phone, link, {"display_name": "Mai Hoa", "login": "taken",
                                "password": "my own long secret", "confirm": "my own long secret"})
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert 'value="Mai Hoa"' in html and 'value="taken"' in html
    # The invitation is still usable after the mistake.
    r = post_form(phone, link, {"display_name": "Mai Hoa", "login": "mai.hoa",
                                "password": "my own long secret", "confirm": "my own long secret"})
    assert r.status_code == 302


def test_expired_invitations_are_purged_by_the_periodic_task(db, make_group, make_user):
    from harmnet.services import accounts
    from worker.tasks.maintenance import purge_expired_invitations

    group = make_group()
    coord = make_user("coord", group=group, role="coordinator")
    with in_group(group.id):
        old = accounts.invite(group.id, "peer_educator", "Old", invited_by=coord.id)
        accounts.invite(group.id, "peer_educator", "Fresh", invited_by=coord.id)
        old.invitation.expires_at = utcnow() - timedelta(days=2)
        db.session.commit()
    assert purge_expired_invitations.delay().get() == 1
    with in_group(group.id):
        assert [i.label for i in db.session.scalars(select(Invitation))] == ["Fresh"]


def test_coordinator_cannot_remove_the_last_coordinator(client, db, make_group, make_user):
    group = make_group()
    coord = make_user("coord", group=group, role="coordinator")
    other = make_user("other", group=group, role="coordinator")
    login(client, "coord")
    mid = membership_id(db, group.id, other.id)
    page = f"/g/{group.slug}/logins"
    r = post_form(client, f"/g/{group.slug}/logins/{mid}/role", {"role": "peer_educator"},
                  page=page)
    assert r.status_code == 302
    with in_group(group.id):
        own = db.session.scalar(
            select(GroupMembership).where(GroupMembership.user_id == coord.id))
        assert own.role == "coordinator"
    # Now coord is the only coordinator; another coordinator cannot exist to demote them,
    # and they cannot deactivate themselves (no control for it, and the service refuses).
    from harmnet.services import accounts

    with in_group(group.id), pytest.raises(accounts.AccountError):
        accounts.deactivate(own, actor_id=coord.id)


def test_guessing_invitation_tokens_is_rate_limited(client):
    statuses = [client.get(f"/invite/guess-{i:04d}-token-that-does-not-exist").status_code
                for i in range(31)]
    assert statuses[:30] == [404] * 30
    assert statuses[30] == 429


def test_deactivating_a_login_asks_once_first(client, db, two_groups):
    a, _b, users = two_groups
    login(client, users["a_coord"].login)
    mid = membership_id(db, a.id, users["a_peer"].id)
    page = f"/g/{a.slug}/logins"
    asked = post_form(client, f"/g/{a.slug}/logins/{mid}/deactivate", page=page)
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Yes, deactivate" in html
    assert users["a_peer"].login in html and f'href="{page}"' in html
    assert db.session.get(User, users["a_peer"].id).is_active is True
    done = post_form(client, f"/g/{a.slug}/logins/{mid}/deactivate", {"confirmed": "yes"},
                     page=page)
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, users["a_peer"].id).is_active is False


def test_a_peer_educator_cannot_deactivate_or_be_asked_to(client, db, two_groups):
    a, _b, users = two_groups
    login(client, users["a_peer"].login)
    mid = membership_id(db, a.id, users["a_coord"].id)
    for data in ({}, {"confirmed": "yes"}):
        response = post_form(client, f"/g/{a.slug}/logins/{mid}/deactivate", data,
                             page=f"/g/{a.slug}/")
        assert response.status_code == 403
    assert db.session.get(User, users["a_coord"].id).is_active is True
