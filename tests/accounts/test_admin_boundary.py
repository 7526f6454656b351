"""The platform admin sees no group data: no coordinator invitation for a staffed group."""

from __future__ import annotations

from sqlalchemy import select

from harmnet.models import AuditEvent, Invitation
from tests.support import in_group, post_form


def _invite(client, slug: str):  # type: ignore[no-untyped-def]
    return post_form(client, "/admin/coordinators", {"c-group": slug, "c-label": "Lan"},
                     page="/admin/")


def test_admin_refused_for_a_group_with_a_coordinator(client, db, login_as, make_group,
                                                      make_user):
    group = make_group("hoa-sen")
    make_user("coord", group=group, role="coordinator")
    login_as("admin")
    response = _invite(client, "hoa-sen")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "/invite/" not in html
    assert "has a coordinator" in html
    with in_group(group.id):
        assert db.session.scalars(select(Invitation)).all() == []
    # The refusal is in the group's trail.
    with in_group(group.id):  # what the group's own context reads (RLS on PostgreSQL)
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "invitation.refused_by_admin" in actions


def test_admin_refusal_in_vietnamese(client, login_as, make_group, make_user):
    group = make_group("hoa-sen")
    make_user("coord", group=group, role="coordinator")
    login_as("admin", locale="vi")
    response = _invite(client, "hoa-sen")
    assert response.status_code == 400
    assert "Nhóm này đã có điều phối viên" in response.get_data(as_text=True)


def test_admin_invites_the_first_coordinator_then_the_link_dies_with_a_coordinator(
        client, app, db, login_as, make_group, make_user):
    group = make_group("new-group")
    login_as("admin")
    response = _invite(client, "new-group")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    token = html.split("/invite/")[1].split('"')[0]
    # Meanwhile the group got a coordinator by another way: the admin's link is void.
    make_user("coord", group=group, role="coordinator")
    other = app.test_client()
    assert other.get(f"/invite/{token}").status_code == 404


def test_non_admin_cannot_reach_the_admin_invitation(client, login_as, make_group):
    make_group("empty")
    login_as("coordinator")
    assert _invite(client, "empty").status_code in (403, 404)
