"""Erasure at a client's request, and the notes of deleted contacts purged after 30 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from harmnet import tenancy
from harmnet.models import Appointment, AuditEvent, Client, Contact, ReportSnapshot
from harmnet.services import erasure, reports
from harmnet.services.contacts import AppointmentInput, ReferralInput
from tests.contacts.conftest import make_contact
from tests.support import audit_trail, in_group, login, post_form

CODE = {"mother": "Lan", "father": "Minh", "sex": "F", "birth_year": "1990"}  # LAMIF1990


def _erase(client, slug: str, **extra):  # type: ignore[no-untyped-def]
    return post_form(client, f"/g/{slug}/clients/erase", {**CODE, "confirm": "y", **extra})


@pytest.fixture
def remembered(db, two_groups):  # type: ignore[no-untyped-def]
    a, _b, users = two_groups
    soon = datetime.now(UTC) + timedelta(days=3)
    ref = ReferralInput("hiv_test", appointment=AppointmentInput(
        soon, reminder_consent=True, channel="sms", contact_value="0912345678"))
    ids = [make_contact(a.id, users["a_peer"].id, notes="lives near the market",
                        referrals=[ref]),
           make_contact(a.id, users["a_peer"].id, days_ago=1)]
    other = make_contact(a.id, users["a_peer"].id, code="HOHOF1995", notes="keep me")
    for year in range(1991, 1996):  # enough people that the month's person counts show
        make_contact(a.id, users["a_peer"].id, code=f"NGNGF{year}")
    month = reports.month_of(datetime.now(UTC).date())
    with tenancy.reports_context():
        reports.build_snapshot(a.id, month)
    db.session.commit()
    return a, users, ids, other, month


def test_coordinator_erases_a_client_and_the_report_says_so(client, db, remembered):
    import worker.tasks.reports  # noqa: F401  (registers the task the route queues by name)

    a, _users, ids, other, month = remembered
    login(client, "a-coord")
    r = _erase(client, a.slug)
    assert r.status_code == 200, r.get_data(as_text=True)[-1500:]
    assert "2 contacts are now anonymous counts" in r.get_data(as_text=True)
    with in_group(a.id):
        assert db.session.scalar(select(func.count()).select_from(Client)) == 6  # the others
        rows = db.session.scalars(select(Contact).where(Contact.id.in_(ids))).all()
        assert len(rows) == 2  # the contacts stay, as counts
        assert {(c.client_id, c.notes) for c in rows} == {(None, "")}
        assert db.session.get(Contact, other).notes == "keep me"
        appointment = db.session.scalar(select(Appointment))
        assert appointment.contact_value is None and not appointment.reminder_consent
        versions = db.session.scalars(select(ReportSnapshot.reason).where(
            ReportSnapshot.group_id == a.id, ReportSnapshot.period == month)
            .order_by(ReportSnapshot.version)).all()
    assert versions[-1] == "erasure" and len(versions) == 2
    [event] = audit_trail(select(AuditEvent).where(AuditEvent.action == "client.erased"))
    assert event.detail["contacts"] == 2 and "Lan" not in str(event.detail)
    # Asked again, the code finds no one.
    again = _erase(client, a.slug)
    assert again.status_code == 400 and "No client of this group" in again.get_data(as_text=True)


def test_unknown_code_and_missing_confirmation_change_nothing(client, db, remembered):
    a, *_rest = remembered
    login(client, "a-coord")
    r = _erase(client, a.slug, confirm="")
    assert r.status_code == 400 and 'value="Lan"' in r.get_data(as_text=True)
    r = post_form(client, f"/g/{a.slug}/clients/erase",
                  {"mother": "Xx", "father": "Yy", "sex": "M", "birth_year": "1980",
                   "confirm": "y"})
    assert r.status_code == 400
    with in_group(a.id):
        assert db.session.scalar(select(func.count()).select_from(Client)) == 7


def test_erasure_is_for_the_groups_coordinators(client, app, db, remembered):
    a, _users, *_rest = remembered
    login(client, "a-peer")
    assert _erase(client, a.slug).status_code == 403
    b_coord = app.test_client()
    login(b_coord, "b-coord")
    assert _erase(b_coord, "group-b").status_code == 400  # B has no such client
    assert b_coord.get(f"/g/{a.slug}/clients/erase").status_code == 404
    with in_group(a.id):
        assert db.session.scalar(select(func.count()).select_from(Client)) == 7


@pytest.mark.parametrize("lang, words", [("en", "Erase a client"), ("vi", "Xóa một khách hàng")])
def test_erase_page_in_both_languages(client, make_group, login_as, lang, words):
    group = make_group()
    login_as("coordinator", group=group, locale=lang)
    assert words in client.get(f"/g/{group.slug}/clients/erase").get_data(as_text=True)


def test_deleted_contacts_lose_their_notes_after_30_days(db, two_groups):
    a, _b, users = two_groups
    old = make_contact(a.id, users["a_peer"].id, notes="old note")
    recent = make_contact(a.id, users["a_peer"].id, code="HOHOF1995", notes="recent note")
    live = make_contact(a.id, users["a_peer"].id, code="MAMAF1991", notes="live note")
    now = datetime.now(UTC)
    with in_group(a.id):
        db.session.get(Contact, old).deleted_at = now - timedelta(days=31)
        db.session.get(Contact, recent).deleted_at = now - timedelta(days=29)
        db.session.commit()
    from worker.tasks.maintenance import purge_deleted_notes

    assert purge_deleted_notes.delay().get() == 1
    with in_group(a.id):
        notes = {c.id: c.notes for c in db.session.scalars(select(Contact))}
    assert notes == {old: "", recent: "recent note", live: "live note"}
    assert erasure.DELETED_NOTES_DAYS == 30
