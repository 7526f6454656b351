"""Supervision (#20 item 8): each peer educator's month against the month before."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import event, select, update

from harmnet.models import Appointment, Referral
from harmnet.services import contacts
from harmnet.services.contacts import ReferralInput
from harmnet.services.supervision import Months, fill, people
from tests.contacts.conftest import TZ, local_today, make_contact
from tests.support import in_group, login


def _months() -> tuple[date, date]:
    """The month shown (last calendar month, wholly past) and the month before it."""
    first = (local_today().replace(day=1) - timedelta(days=1)).replace(day=1)
    return first, (first - timedelta(days=1)).replace(day=1)


def _ago(day: date) -> int:
    return (local_today() - day).days


@pytest.fixture
def month_world(group_setup, db):  # type: ignore[no-untyped-def]
    a, b, users, _made = group_setup
    month, before = _months()
    peer, peer2 = users["a_peer"].id, users["a_peer2"].id
    d = lambda first, n: _ago(first.replace(day=n))  # noqa: E731
    make_contact(a.id, peer, days_ago=d(month, 10), code="LAMIF1990", referrals=[
        ReferralInput("hiv_test"), ReferralInput("hepatitis_test")])        # new client X
    make_contact(a.id, peer, days_ago=d(month, 12), code="LAMIF1990")      # X again
    make_contact(a.id, peer, days_ago=d(month, 15), code="HOBIF1980")      # new client Y
    make_contact(a.id, peer, days_ago=d(before, 10), code="MAMAF1999",     # new client Z
                 referrals=[ReferralInput("legal_aid")])
    gone = make_contact(a.id, peer, days_ago=d(month, 16), code="QUQUF1991")
    make_contact(a.id, peer2, days_ago=d(before, 10), code="AAAAF2000")
    make_contact(b.id, users["b_peer"].id, days_ago=d(month, 10), code="BBBBF2001")
    with in_group(a.id):
        contacts.delete_contact(contacts.get_contact(gone), "mistake", actor_id=peer)
        refs = {r.service: r for r in db.session.scalars(select(Referral))}
        # HIV test completed in the month; legal aid (referred the month before) too.
        for service, day in (("hiv_test", 20), ("legal_aid", 5)):
            db.session.execute(update(Referral).where(Referral.id == refs[service].id).values(
                status="completed", completed_on=month.replace(day=day)))
        # An appointment of the month, long past, that nobody marked.
        db.session.add(Appointment(
            group_id=a.id, referral_id=refs["hepatitis_test"].id, status="scheduled",
            scheduled_at=datetime.combine(month.replace(day=11), time(9), tzinfo=TZ)))
        db.session.commit()
    return a, b, users, month


def _lines(db, group_id: int, month: date, **kw):  # type: ignore[no-untyped-def]
    with in_group(group_id):
        months = Months.of(month.year, month.month, "Asia/Ho_Chi_Minh")
        lines, _next = people(months, only_user=kw.pop("only_user", None), after=None,
                              limit=50)
        fill(lines, months, today=local_today(), now=datetime.now(TZ), open_after_days=14)
        db.session.commit()
    return {line.name: line for line in lines}


def test_each_peer_educators_month_against_the_month_before(db, month_world):
    a, _b, _users, month = month_world
    lines = _lines(db, a.id, month)
    assert set(lines) == {"Name a-peer", "Name a-peer2"}  # peer educators, not coordinators
    peer = lines["Name a-peer"]
    assert peer.now == {"contacts": 3, "new_clients": 2, "referrals_made": 2,
                        "referrals_completed": 2, "overdue": 2}
    assert peer.before == {"contacts": 1, "new_clients": 1, "referrals_made": 1,
                           "referrals_completed": 0, "overdue": 0}
    other = lines["Name a-peer2"]
    assert other.now == dict.fromkeys(other.now, 0)
    assert (other.before["contacts"], other.before["new_clients"]) == (1, 1)


def test_the_figures_cost_the_same_few_statements_however_many_rows(db, month_world, app):
    a, _b, _users, month = month_world
    seen: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        _lines(db, a.id, month)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    grouped = [s for s in seen if "GROUP BY" in s.upper()]
    assert len(grouped) == 3 and len(seen) <= 5, seen


def test_coordinator_page_lists_the_groups_peer_educators_only(client, db, month_world):
    _a, _b, _users, month = month_world
    login(client, "a-coord")
    page = client.get(f"/g/group-a/contacts/supervision?month={month:%Y-%m}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Name a-peer2" in html and "Name a-peer<" in html and "b-peer" not in html
    assert "Follow-ups overdue" in html
    assert '<strong>3</strong> <span class="muted">(+2)</span>' in html  # contacts, 3 after 1
    for secret in ("LAMIF1990", "HOBIF1980", "Hepatitis"):
        assert secret not in html  # no client, no service: counts only
    bad = client.get("/g/group-a/contacts/supervision?month=2024-13")
    assert bad.status_code == 400 and "Choose a month like" in bad.get_data(as_text=True)
    assert client.get("/g/group-a/contacts/supervision?after=99999999999999999999999"
                      ).status_code == 200
    assert client.get("/g/group-a/contacts/supervision").status_code == 200


def test_the_page_goes_on_by_keyset(client, db, month_world, monkeypatch):
    from harmnet.contacts import routes

    _a, _b, _users, month = month_world
    monkeypatch.setattr(routes, "SUPERVISION_PAGE_SIZE", 1)
    login(client, "a-coord")
    first = client.get(f"/g/group-a/contacts/supervision?month={month:%Y-%m}"
                       ).get_data(as_text=True)
    assert "Name a-peer<" in first and "Name a-peer2" not in first
    start = first.index('rel="next"')
    link = first[first.rindex('href="', 0, start) + 6:first.index('"', first.rindex(
        'href="', 0, start) + 6)].replace("&amp;", "&")
    second = client.get(link).get_data(as_text=True)
    assert "Name a-peer2" in second and "Name a-peer<" not in second
    assert 'rel="next"' not in second


def test_a_peer_educator_sees_only_their_own_line(client, db, month_world):
    _a, _b, _users, month = month_world
    login(client, "a-peer2")
    html = client.get(f"/g/group-a/contacts/supervision?month={month:%Y-%m}"
                      ).get_data(as_text=True)
    assert "Name a-peer2" in html and "Name a-peer<" not in html


def test_another_groups_supervision_is_not_found(client, month_world, app):
    login(client, "a-coord")
    assert client.get("/g/group-b/contacts/supervision").status_code == 404
    other = app.test_client()
    login(other, "b-peer")
    assert other.get("/g/group-a/contacts/supervision").status_code == 404


def test_supervision_in_vietnamese(client, db, month_world):
    from harmnet.models import User

    _a, _b, users, month = month_world
    db.session.get(User, users["a_coord"].id).locale = "vi"
    db.session.commit()
    login(client, "a-coord")
    html = client.get(f"/g/group-a/contacts/supervision?month={month:%Y-%m}"
                      ).get_data(as_text=True)
    assert "Giám sát" in html and "Supervision" not in html
