"""Password reset links handed over in person, and one login in several groups."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from harmnet.models import AuditEvent, GroupMembership, PasswordReset
from harmnet.models._types import utcnow
from tests.support import PASSWORD, audit_trail, in_group, login, membership_id, post_form

NEW = "a brand new long secret"


def _link(response) -> str:  # type: ignore[no-untyped-def]
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[-2000:]
    start = html.index("/reset/")
    return html[start:html.index('"', start)]


def _group_reset(client, group, mid):  # type: ignore[no-untyped-def]
    return post_form(client, f"/g/{group.slug}/logins/{mid}/reset", page=f"/g/{group.slug}/logins")


def _set_password(client, link: str, password: str = NEW):  # type: ignore[no-untyped-def]
    return post_form(client, link, {"password": password, "confirm": password})


# --- a coordinator resets a peer educator's login ------------------------------------------


def test_reset_link_works_once_and_ends_old_sessions(client, app, db, two_groups):
    a, _b, users = two_groups
    phone = app.test_client()
    login(phone, "a-peer")
    assert phone.get(f"/g/{a.slug}/").status_code == 200
    login(client, "a-coord")
    link = _link(_group_reset(client, a, membership_id(db, a.id, users["a_peer"].id)))
    stored = db.session.scalar(select(PasswordReset))
    assert stored.token_hash not in link and link.split("/reset/")[1] not in stored.token_hash

    other = app.test_client()
    page = other.get(link)
    assert page.status_code == 200 and "a-peer" in page.get_data(as_text=True)
    r = _set_password(other, link)
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    # The phone that was signed in with the old password is signed out.
    assert phone.get(f"/g/{a.slug}/").status_code == 302
    assert login(other, "a-peer", PASSWORD).status_code == 200  # the old password: refused
    assert login(other, "a-peer", NEW).status_code == 302
    # Once, not twice.
    again = app.test_client()
    assert again.get(link).status_code == 404
    assert _set_password(again, link, "yet another long secret").status_code == 404
    with in_group(a.id):  # what the group's own context reads (RLS on PostgreSQL)
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "password_reset.issued" in actions and "password_reset.used" in actions


def test_reset_link_expires(client, app, db, two_groups):
    a, _b, users = two_groups
    login(client, "a-coord")
    link = _link(_group_reset(client, a, membership_id(db, a.id, users["a_peer"].id)))
    stored = db.session.scalar(select(PasswordReset))
    stored.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert app.test_client().get(link).status_code == 404


def test_weak_new_password_rerenders_with_a_message(client, app, db, two_groups):
    a, _b, users = two_groups
    login(client, "a-coord")
    link = _link(_group_reset(client, a, membership_id(db, a.id, users["a_peer"].id)))
    phone = app.test_client()
    r = _set_password(phone, link, "short")
    assert r.status_code == 400 and 'class="error"' in r.get_data(as_text=True)
    assert _set_password(phone, link, "a-peer").status_code == 400
    assert _set_password(phone, link).status_code == 302  # still usable after the mistakes


def test_reset_page_in_vietnamese(client, app, db, make_group, make_user):
    group = make_group()
    make_user("coord-vi", group=group, role="coordinator", locale="vi")
    peer = make_user("peer-vi", group=group, role="peer_educator")
    login(client, "coord-vi")
    response = _group_reset(client, group, membership_id(db, group.id, peer.id))
    assert "Đường dẫn đặt lại mật khẩu" in response.get_data(as_text=True)


def test_coordinator_cannot_reset_a_coordinator_or_a_wider_login(client, db, make_group,
                                                                 make_user):
    a, b = make_group("group-a"), make_group("group-b")
    make_user("a-coord", group=a, role="coordinator")
    other_coord = make_user("a-coord2", group=a, role="coordinator")
    both = make_user("both", group=a, role="peer_educator")
    from harmnet.services import org

    org.grant_group_role(b, both, "peer_educator")
    db.session.commit()
    login(client, "a-coord")
    for user in (other_coord, both):
        r = _group_reset(client, a, membership_id(db, a.id, user.id))
        assert r.status_code == 302
        assert "/reset/" not in client.get(r.headers["Location"]).get_data(as_text=True)
    assert db.session.scalars(select(PasswordReset)).all() == []


def test_reset_of_another_groups_login_is_404_and_peer_gets_403(client, app, db, two_groups):
    a, b, users = two_groups
    b_peer = membership_id(db, b.id, users["b_peer"].id)
    login(client, "a-coord")
    assert _group_reset(client, a, b_peer).status_code == 404
    assert _group_reset(client, b, b_peer).status_code == 404  # not a member of b
    peer = app.test_client()
    login(peer, "a-peer")
    a_peer = membership_id(db, a.id, users["a_peer"].id)
    assert _group_reset(peer, a, a_peer).status_code == 403


def test_issuing_is_rate_limited(client, app, db, two_groups):
    a, _b, users = two_groups
    app.config["RESET_ISSUE_RATE_LIMIT"] = "2 per hour"
    login(client, "a-coord")
    mid = membership_id(db, a.id, users["a_peer"].id)
    codes = [_group_reset(client, a, mid).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_opening_reset_links_is_rate_limited(client, app):
    app.config["INVITATION_RATE_LIMIT"] = "3 per minute"
    codes = [client.get("/reset/" + "x" * 43).status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]


# --- the platform admin resets a coordinator -----------------------------------------------


def test_admin_resets_a_coordinator_and_the_group_sees_it(client, app, db, login_as,
                                                           two_groups):
    a, _b, users = two_groups
    login_as("admin")
    page = client.get("/admin/accounts/")
    assert page.status_code == 200 and "a-coord" in page.get_data(as_text=True)
    assert "a-peer" not in page.get_data(as_text=True)  # coordinators only
    link = _link(post_form(client, f"/admin/accounts/{users['a_coord'].id}/reset",
                           page="/admin/accounts/"))
    assert _set_password(app.test_client(), link).status_code == 302
    [issued] = audit_trail(select(AuditEvent).where(
        AuditEvent.action == "password_reset.issued"))
    assert issued.group_id == a.id
    # A peer educator is not the admin's to reset.
    r = post_form(client, f"/admin/accounts/{users['a_peer'].id}/reset", page="/admin/accounts/")
    assert r.status_code == 302


def test_admin_reset_pages_are_not_for_others(client, login_as, two_groups):
    _a, _b, users = two_groups
    login_as("coordinator")
    assert client.get("/admin/accounts/").status_code == 404
    r = post_form(client, f"/admin/accounts/{users['a_coord'].id}/reset", page="/account")
    assert r.status_code == 404


# --- a department manager resets the department's staff ------------------------------------


def test_department_manager_resets_staff_within_the_subtree(client, app, db, make_department,
                                                            make_user, login_as):
    city = make_department("city")
    district = make_department("district", parent="city")
    elsewhere = make_department("elsewhere")
    staff = make_user("staff", department=district, role="viewer")
    stranger = make_user("stranger", department=elsewhere, role="viewer")
    login_as("manager", department=city)
    page = client.get("/d/city/staff/")
    assert page.status_code == 200 and "staff" in page.get_data(as_text=True)
    assert "stranger" not in page.get_data(as_text=True)
    from harmnet.models import DepartmentRole

    def role_id(user):  # type: ignore[no-untyped-def]
        return db.session.scalar(select(DepartmentRole.id).where(
            DepartmentRole.user_id == user.id))

    link = _link(post_form(client, f"/d/city/staff/{role_id(staff)}/reset", page="/d/city/staff/"))
    assert _set_password(app.test_client(), link).status_code == 302
    # Another department's staff: not found.
    r = post_form(client, f"/d/city/staff/{role_id(stranger)}/reset", page="/d/city/staff/")
    assert r.status_code == 404


def test_department_staff_page_is_for_managers(client, make_department, login_as):
    city = make_department("city")
    make_department("elsewhere")
    login_as("viewer", department=city)
    assert client.get("/d/city/staff/").status_code == 403
    assert client.get("/d/elsewhere/staff/").status_code == 404


# --- one login, several groups ---------------------------------------------------------------


def _invite(client, group, role="peer_educator"):  # type: ignore[no-untyped-def]
    r = post_form(client, f"/g/{group.slug}/logins/invite", {"label": "Lan", "role": role})
    html = r.get_data(as_text=True)
    start = html.index("/invite/")
    return html[start:html.index('"', start)]


def test_existing_login_joins_a_second_group_by_signing_in(client, app, db, two_groups):
    a, b, users = two_groups
    login(client, "b-coord")
    link = _invite(client, b)
    phone = app.test_client()
    page = phone.get(link)
    assert link + "/join" in page.get_data(as_text=True)  # "I already have a login"
    r = phone.get(link + "/join")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert "/invite/" not in r.headers["Location"]  # the token stays out of the sign-in URL
    sign_in = phone.get(r.headers["Location"]).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/join"' in sign_in
    r = post_form(phone, "/login", {"login": "a-peer", "password": PASSWORD, "next": "/join"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/join")
    page = phone.get("/join")
    assert page.status_code == 200 and b.name in page.get_data(as_text=True)
    r = post_form(phone, "/join")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/g/{b.slug}/")
    assert phone.get(f"/g/{b.slug}/").status_code == 200
    assert phone.get(f"/g/{a.slug}/").status_code == 200
    places = phone.get("/choose").get_data(as_text=True)
    assert a.name in places and b.name in places
    with in_group(b.id):
        m = db.session.scalar(select(GroupMembership).where(
            GroupMembership.user_id == users["a_peer"].id))
        assert m.role == "peer_educator" and m.is_active
    # The invitation is spent.
    assert app.test_client().get(link).status_code == 404


def test_join_when_already_signed_in_and_refusals(client, app, db, two_groups, make_user):
    a, b, users = two_groups
    login(client, "b-coord")
    link = _invite(client, b)
    member = app.test_client()
    login(member, "b-peer")
    assert member.get(link + "/join").headers["Location"].endswith("/join")
    r = post_form(member, "/join")
    assert r.status_code == 200 and "already a member" in r.get_data(as_text=True)
    admin = app.test_client()
    make_user("root", is_admin=True)
    login(admin, "root")
    admin.get(link + "/join")
    r = post_form(admin, "/join")
    assert "administrator" in r.get_data(as_text=True)
    with in_group(b.id):
        assert db.session.scalar(select(GroupMembership).where(
            GroupMembership.user_id == users["a_peer"].id)) is None


def test_join_without_an_invitation_is_404(client, login_as):
    login_as("peer_educator")
    assert client.get("/join").status_code == 404
    assert client.get("/invite/" + "x" * 43 + "/join").status_code == 404


@pytest.mark.parametrize("lang, words", [("en", "Join a group"), ("vi", "Tham gia nhóm")])
def test_join_page_in_both_languages(client, app, db, two_groups, make_user, lang, words):
    _a, b, _users = two_groups
    login(client, "b-coord")
    link = _invite(client, b)
    make_user("joiner", locale=lang)
    phone = app.test_client()
    login(phone, "joiner")
    phone.get(link + "/join")
    assert words in phone.get("/join").get_data(as_text=True)


def test_a_lost_phone_reset_turns_two_step_off_and_is_audited(client, app, db, two_groups):
    """The peer lost the phone with its codes: the coordinator's second button clears
    two-step sign-in with the link, so the peer can get in and set it up again."""
    from tests.accounts.test_two_step import STEP, enrol

    a, _b, users = two_groups
    peer = app.test_client()
    login(peer, "a-peer")
    enrol(peer)
    login(client, "a-coord")
    mid = membership_id(db, a.id, users["a_peer"].id)
    logins = client.get(f"/g/{a.slug}/logins").get_data(as_text=True)
    assert "turn off two-step sign-in" in logins
    # The plain button leaves two-step on: the new password alone does not sign in.
    link = _link(_group_reset(client, a, mid))
    assert _set_password(app.test_client(), link).status_code == 302
    assert login(app.test_client(), "a-peer", NEW).headers["Location"].endswith(STEP)
    # The lost-phone button turns it off.
    response = post_form(client, f"/g/{a.slug}/logins/{mid}/reset", {"two_step": "off"},
                         page=f"/g/{a.slug}/logins")
    assert "Two-step sign-in is now off" in response.get_data(as_text=True)
    link = _link(response)
    assert _set_password(app.test_client(), link, "another long new secret").status_code == 302
    fresh = app.test_client()
    assert login(fresh, "a-peer", "another long new secret").status_code == 302
    assert fresh.get(f"/g/{a.slug}/").status_code == 200
    assert peer.get(f"/g/{a.slug}/").status_code == 302  # the old phone's session ended
    actors = audit_trail(select(AuditEvent.actor_id).where(
        AuditEvent.action == "two_step.disabled", AuditEvent.group_id == a.id))
    assert list(actors) == [users["a_coord"].id]  # in the group's trail, by the coordinator
