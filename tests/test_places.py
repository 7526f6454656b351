"""Department landing pages, the place chooser, and the platform admin pages."""

from __future__ import annotations

from sqlalchemy import select

from harmnet.models import AuditEvent, Department, PeerGroup
from tests.support import audit_trail, login, post_form


def test_department_viewer_sees_own_subtree_names_only(client, make_department, make_group,
                                                       make_user):
    hn = make_department("hn", "Hà Nội")
    bd = make_department("hn-bd", "Ba Đình", parent="hn")
    make_group("hoa-sen", department="hn-bd", name="CLB Hoa Sen")
    make_group("song-hong", department="hn", name="Sông Hồng")
    make_user("viewer-bd", department=bd, role="viewer")
    make_user("viewer-hn", department=hn, role="viewer")

    login(client, "viewer-hn")
    page = client.get("/d/hn/").get_data(as_text=True)
    assert "CLB Hoa Sen" in page and "Sông Hồng" in page and "Ba Đình" in page
    assert client.get("/d/hn-bd/").status_code == 200  # a child of their department
    assert client.get("/g/hoa-sen/").status_code == 404  # never the group's own pages

    other = client.application.test_client()
    login(other, "viewer-bd")
    assert other.get("/d/hn-bd/").status_code == 200
    assert other.get("/d/hn/").status_code == 404
    assert "Sông Hồng" not in other.get("/d/hn-bd/").get_data(as_text=True)


def test_chooser_lists_every_place_of_a_person_with_several_roles(client, make_group,
                                                                 make_user, make_department):
    a, b = make_group(name="Nhóm A"), make_group(name="Nhóm B")
    from harmnet.services import org

    user = make_user("multi", group=a, role="coordinator")
    org.grant_group_role(b, user, "peer_educator")
    from harmnet.extensions import db

    db.session.commit()
    response = login(client, "multi")
    assert response.headers["Location"].endswith("/choose")
    html = client.get("/choose").get_data(as_text=True)
    assert "Nhóm A" in html and "Nhóm B" in html
    assert client.get(f"/g/{a.slug}/logins").status_code == 200
    assert client.get(f"/g/{b.slug}/logins").status_code == 403


def test_admin_creates_department_group_and_coordinator_invitation(client, db, login_as):
    login_as("admin")
    r = post_form(client, "/admin/departments", {"d-code": "hn", "d-name": "Hà Nội"},
                  page="/admin/")
    assert r.status_code == 302
    r = post_form(client, "/admin/groups", {"g-slug": "hoa-sen", "g-name": "CLB Hoa Sen",
                                             "g-kind": "club", "g-department": "hn"},
                  page="/admin/")
    assert r.status_code == 302
    r = post_form(client, "/admin/coordinators", {"c-group": "hoa-sen", "c-label": "Chị Lan"},
                  page="/admin/")
    assert r.status_code == 200 and "/invite/" in r.get_data(as_text=True)
    assert db.session.scalar(select(PeerGroup.name).where(PeerGroup.slug == "hoa-sen"))
    actions = set(audit_trail(select(AuditEvent.action)))
    assert {"department.created", "group.created", "invitation.created"} <= actions


def test_admin_form_errors_keep_values(client, db, login_as, make_department):
    make_department("hn")
    login_as("admin")
    r = post_form(client, "/admin/departments", {"d-code": "hn", "d-name": "Trùng mã"},
                  page="/admin/")
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and 'value="Trùng mã"' in html
    r = post_form(client, "/admin/groups", {"g-slug": "Bad Slug!", "g-name": "X",
                                             "g-kind": "club", "g-department": "hn"},
                  page="/admin/")
    assert r.status_code == 400 and 'value="Bad Slug!"' in r.get_data(as_text=True)
    assert db.session.scalar(select(Department).where(Department.code == "hn")).name != "Trùng mã"
    # A month that is not on the list: the form again with its values, never a 500.
    r = post_form(client, "/admin/groups", {"g-slug": "song-hong", "g-name": "Sông Hồng",
                                             "g-kind": "club", "g-department": "hn",
                                             "g-year_start": "13"}, page="/admin/")
    assert r.status_code == 400 and 'value="Sông Hồng"' in r.get_data(as_text=True)


def test_admin_sets_a_groups_own_reporting_year(client, db, login_as, make_department):
    make_department("hn")
    login_as("admin")
    assert "Reporting year starts in" in client.get("/admin/").get_data(as_text=True)
    r = post_form(client, "/admin/groups", {"g-slug": "hoa-sen", "g-name": "CLB Hoa Sen",
                                             "g-kind": "club", "g-department": "hn",
                                             "g-year_start": "2"}, page="/admin/")
    assert r.status_code == 302
    r = post_form(client, "/admin/groups", {"g-slug": "song-hong", "g-name": "Sông Hồng",
                                             "g-kind": "club", "g-department": "hn"},
                  page="/admin/")
    assert r.status_code == 302
    years = dict(db.session.execute(
        select(PeerGroup.slug, PeerGroup.fiscal_year_start_month)).all())
    assert years == {"hoa-sen": 2, "song-hong": None}  # None: the department's


def test_admin_pages_are_hidden_from_everyone_else(client, login_as):
    login_as("coordinator")
    assert client.get("/admin/").status_code == 404


def test_admin_sees_no_group_data(client, login_as, make_group):
    group = make_group()
    login_as("admin")
    assert client.get(f"/g/{group.slug}/").status_code == 404
