"""Every members/trainings route: 404 across groups, 403 for peer educators where it must."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from harmnet.models import Attendance, AuditEvent, Member, Training
from tests.support import get_csrf, in_group, login

#: (method, path under /g/<slug>, coordinator only?)
ROUTES = [
    ("GET", "/members/", True),
    ("GET", "/members/new", True),
    ("POST", "/members/new", True),
    ("GET", "/members/{member}", True),
    ("GET", "/members/{member}/edit", True),
    ("POST", "/members/{member}/edit", True),
    ("POST", "/members/{member}/status", True),
    ("POST", "/members/{member}/phone", True),
    ("POST", "/members/{member}/invite", True),
    ("GET", "/members/import", True),
    ("POST", "/members/import", True),
    ("POST", "/members/import/confirm", True),
    ("GET", "/members/import/template.csv", True),
    ("GET", "/members/export", True),
    ("POST", "/members/export", True),
    ("GET", "/members/overview", True),
    ("GET", "/trainings/", False),
    ("GET", "/trainings/{training}", False),
    ("GET", "/trainings/{training}.ics", False),
    ("GET", "/trainings/new", True),
    ("POST", "/trainings/new", True),
    ("GET", "/trainings/{training}/edit", True),
    ("POST", "/trainings/{training}/edit", True),
    ("POST", "/trainings/{training}/cancel", True),
    ("GET", "/trainings/{training}/invite", True),
    ("POST", "/trainings/{training}/invite/group", True),
    ("POST", "/trainings/{training}/invite/pick", True),
    ("POST", "/trainings/{training}/uninvite/{member}", True),
    ("GET", "/trainings/{training}/roll-call", True),
    ("POST", "/trainings/{training}/roll-call", True),
]
WITH_IDS = [r for r in ROUTES if "{" in r[1]]


@pytest.fixture
def world(app, db, two_groups, add_member, add_training, invite_to):  # type: ignore[no-untyped-def]
    a, b, users = two_groups
    ids = {}
    for group, key in ((a, "a"), (b, "b")):
        member = add_member(group, f"Thành viên {key}", phone="0912345678")
        training = add_training(group, days=-0.01)
        invite_to(group, training, [member])
        ids[key] = {"member": member, "training": training}
    return a, b, users, ids


def _snapshot(db, group) -> tuple:  # type: ignore[no-untyped-def]
    with in_group(group.id):
        return (
            [(m.alias, m.status, m.phone, m.role_in_group) for m in
             db.session.scalars(select(Member).order_by(Member.id))],
            [(t.title, t.status, t.starts_at) for t in
             db.session.scalars(select(Training).order_by(Training.id))],
            list(db.session.execute(select(Attendance.member_id, Attendance.status))),
        )


def _call(client, method, path, csrf_page="/g/group-a/trainings/"):  # type: ignore[no-untyped-def]
    if method == "GET":
        return client.get(path)
    token = get_csrf(client, csrf_page)
    return client.post(path, data={"csrf_token": token, "alias": "x", "status": "left",
                                   "on": "2024-01-01", "role": "coordinator",
                                   "format": "csv", "include_phone": "y",
                                   "member_id": "1", "roles": ["peer_educator"],
                                   "statuses": ["active"], "m-1": "attended",
                                   "role_in_group": "volunteer", "title": "x",
                                   "topic": "first_aid", "day": "2024-01-01", "at": "09:00",
                                   "duration_minutes": "60", "token": "A" * 32})


# One test per rule, looping over the routes: each test's setup (four logins) is costly.


def test_a_coordinator_cannot_reach_another_groups_ids(client, db, world):
    a, b, users, ids = world
    login(client, "a-coord")
    before = _snapshot(db, b)
    for method, path, _ in WITH_IDS:
        url = "/g/group-a" + path.format(**ids["b"])
        assert _call(client, method, url).status_code == 404, (method, path)
    assert _snapshot(db, b) == before


def test_another_groups_pages_are_not_found(client, db, world):
    a, b, users, ids = world
    login(client, "a-coord")
    before = _snapshot(db, b)
    for method, path, _ in ROUTES:
        url = "/g/group-b" + path.format(**ids["b"])
        assert _call(client, method, url).status_code == 404, (method, path)
    assert _snapshot(db, b) == before


def test_peer_educators_are_refused_coordinator_pages(client, db, world):
    a, b, users, ids = world
    login(client, "a-peer")
    before = _snapshot(db, a)
    for method, path, coordinator_only in ROUTES:
        url = "/g/group-a" + path.format(**ids["a"])
        response = _call(client, method, url)
        expected = 403 if coordinator_only else 200
        assert response.status_code == expected, (method, path)
        assert "0912345678" not in response.get_data(as_text=True), (method, path)
    assert _snapshot(db, a) == before
    with in_group(a.id):
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action.in_(("member.exported", "member.phone_shown")))) == 0


def test_nav_shows_members_to_coordinators_only(client, world, app):
    login(client, "a-peer")
    home = client.get("/g/group-a/").get_data(as_text=True)
    assert "/g/group-a/trainings/" in home and "/g/group-a/members/" not in home
    other = app.test_client()
    login(other, "a-coord")
    home = other.get("/g/group-a/").get_data(as_text=True)
    assert "/g/group-a/members/" in home and "/g/group-a/members/overview" in home
