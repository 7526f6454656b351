"""The audit trail can be read: a coordinator's page for the group, a department manager's
for the department, the admin's for the platform; views of records are in it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from harmnet import tenancy
from harmnet.models import AuditEvent
from tests.contacts.conftest import make_contact
from tests.support import audit_trail, login, post_form


def _invite(client, slug: str) -> None:  # type: ignore[no-untyped-def]
    r = post_form(client, f"/g/{slug}/logins/invite", {"label": "Lan", "role": "peer_educator"})
    assert r.status_code == 200


def test_group_trail_shows_the_groups_actions_and_views_only(client, app, db, two_groups):
    a, b, users = two_groups
    contact_id = make_contact(a.id, users["a_peer"].id)
    other = app.test_client()
    login(other, "b-coord")
    _invite(other, b.slug)
    login(client, "a-coord")
    assert client.get(f"/g/{a.slug}/contacts/{contact_id}").status_code == 200
    _invite(client, a.slug)
    page = client.get(f"/g/{a.slug}/audit/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "contact.viewed" in html and f"contact {contact_id}" in html
    assert "invitation.created" in html and "Name a-coord" in html
    assert "Name b-coord" not in html  # nothing of group B
    # Filters: by action, by person, by dates.
    only = client.get(f"/g/{a.slug}/audit/?action=contact.viewed").get_data(as_text=True)
    assert "contact.viewed" in only and "<code>invitation.created</code>" not in only
    everyone = client.get(f"/g/{a.slug}/audit/").get_data(as_text=True)
    assert "nobody signed in" in everyone  # the set-up's grants
    person = client.get(f"/g/{a.slug}/audit/?person={users['a_coord'].id}")
    assert person.status_code == 200
    assert "<code>contact.viewed</code>" in person.get_data(as_text=True)
    assert "nobody signed in" not in person.get_data(as_text=True)
    future = client.get(f"/g/{a.slug}/audit/?date_from=2999-01-01").get_data(as_text=True)
    assert "Nothing recorded matches." in future


def test_a_contact_read_through_the_api_is_recorded(client, two_groups):
    a, _b, users = two_groups
    contact_id = make_contact(a.id, users["a_peer"].id)
    login(client, "a-peer")
    r = client.get(f"/api/v1/groups/{a.slug}/contacts/{contact_id}")
    assert r.status_code == 200
    [event] = audit_trail(select(AuditEvent).where(AuditEvent.action == "contact.viewed"))
    assert (event.object_id, event.group_id, event.detail) == (contact_id, a.id, {"via": "api"})


def test_bad_filter_rerenders_with_a_message(client, two_groups):
    a, _b, _users = two_groups
    login(client, "a-coord")
    r = client.get(f"/g/{a.slug}/audit/?date_from=yesterday&person=999999")
    assert r.status_code == 400
    assert "Please correct the fields marked below." in r.get_data(as_text=True)


def test_group_trail_is_paginated(client, app, db, two_groups):
    a, _b, _users = two_groups
    app.config["PAGE_SIZE"] = 3
    login(client, "a-coord")
    for _ in range(4):
        _invite(client, a.slug)
    first = client.get(f"/g/{a.slug}/audit/?action=invitation.created").get_data(as_text=True)
    assert "Page 1 of 2" in first and "action=invitation.created" in first
    second = client.get(f"/g/{a.slug}/audit/?action=invitation.created&page=2")
    assert second.get_data(as_text=True).count("<code>invitation.created</code>") == 1


def test_group_trail_is_for_the_groups_coordinators(client, app, two_groups):
    a, b, _users = two_groups
    login(client, "a-peer")
    assert client.get(f"/g/{a.slug}/audit/").status_code == 403
    coord = app.test_client()
    login(coord, "a-coord")
    assert coord.get(f"/g/{b.slug}/audit/").status_code == 404


@pytest.mark.parametrize("lang, words", [("en", "Audit trail"), ("vi", "Nhật ký hoạt động")])
def test_trail_in_both_languages(client, make_group, login_as, lang, words):
    group = make_group()
    login_as("coordinator", group=group, locale=lang)
    assert words in client.get(f"/g/{group.slug}/audit/").get_data(as_text=True)


def test_client_history_check_is_recorded(client, db, two_groups):
    a, _b, users = two_groups
    make_contact(a.id, users["a_peer"].id, code="LAMIF1990")
    login(client, "a-peer")
    from tests.contacts.conftest import contact_form

    page = client.get(f"/g/{a.slug}/contacts/new").get_data(as_text=True)
    data = contact_form(page, mother="Lan", father="Minh", sex="F", birth_year="1990")
    data["action"] = "check"
    assert client.post(f"/g/{a.slug}/contacts/new", data=data).status_code == 200
    [event] = audit_trail(select(AuditEvent).where(AuditEvent.action == "client.history_viewed"))
    assert event.group_id == a.id and event.actor_id == users["a_peer"].id
    assert "LAMIF1990" not in str(event.detail)


# --- the department's and the platform's trails ----------------------------------------------


def test_department_trail_shows_its_subtree_and_no_group_events(client, app, db, make_department,
                                                                make_group, make_user, login_as):
    city = make_department("city")
    make_department("district", parent="city")
    elsewhere = make_department("elsewhere")
    make_user("district-staff", department=db.session.scalar(
        select(type(city)).where(type(city).code == "district")), role="viewer")
    make_user("far-staff", department=elsewhere, role="viewer")
    group = make_group("hoa-sen", department="district")
    make_user("g-coord", group=group, role="coordinator")
    login_as("manager", department=city)
    page = client.get("/d/city/audit/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "department_role.granted" in html and "department " in html
    assert "membership.granted" not in html and "group.created" not in html  # group data
    far = [e.object_id for e in audit_trail(select(AuditEvent).where(
        AuditEvent.department_id == elsewhere.id, AuditEvent.action == "department_role.granted"))]
    assert f"department_role {far[0]}<" not in html.replace("</td>", "<")


def test_department_trail_is_for_managers(client, make_department, login_as):
    city = make_department("city")
    make_department("elsewhere")
    login_as("viewer", department=city)
    assert client.get("/d/city/audit/").status_code == 403
    assert client.get("/d/elsewhere/audit/").status_code == 404


def test_platform_trail_shows_admin_actions_in_groups_and_sign_ins(client, app, db, login_as,
                                                                   make_group, make_user):
    group = make_group("new-group")
    coordinator_group = make_group("staffed")
    make_user("coord", group=coordinator_group, role="coordinator")
    coord = app.test_client()
    login(coord, "coord")
    _invite(coord, "staffed")  # a group's own action: not the platform's
    login_as("admin")
    post_form(client, "/admin/coordinators", {"c-group": "new-group", "c-label": "Lan"},
              page="/admin/")
    html = client.get("/admin/audit/").get_data(as_text=True)
    assert "login.success" in html
    assert "invitation.created" in html  # the admin's, in a group
    assert html.count("<code>invitation.created</code>") == 1
    assert group.id


def test_platform_trail_is_the_admins(client, login_as):
    login_as("coordinator")
    assert client.get("/admin/audit/").status_code == 404


# --- row-level security, as the app role ------------------------------------------------------


def test_app_role_reads_only_its_contexts_audit_rows(app, db, database, two_groups):
    if not database.is_postgres:
        pytest.skip("row-level security is PostgreSQL's")
    a, b, _users = two_groups
    with database.owner_engine.connect() as conn:
        total = conn.scalar(text("SELECT count(*) FROM audit_events"))
        of_a = conn.scalar(text("SELECT count(*) FROM audit_events WHERE group_id = :g"),
                           {"g": a.id})
    assert total > of_a > 0
    count = select(func.count()).select_from(AuditEvent)
    assert db.session.scalar(count) == 0  # no context: nothing, even through text() SQL
    assert db.session.scalar(text("SELECT count(*) FROM audit_events")) == 0
    db.session.rollback()
    with tenancy.group_context(a.id):
        assert db.session.scalar(text("SELECT count(*) FROM audit_events")) == of_a
    db.session.rollback()
    # Append-only: the app role cannot rewrite or remove the trail.
    with tenancy.group_context(a.id):
        changed = db.session.execute(text("UPDATE audit_events SET action = 'x'")).rowcount
        removed = db.session.execute(text("DELETE FROM audit_events")).rowcount
    assert (changed, removed) == (0, 0)
    db.session.rollback()
