"""The contact entry page: saving, the returning-client check, referrals, appointments."""

from __future__ import annotations

import gzip
import re

from sqlalchemy import func, select

from harmnet.models import Appointment, Client, Contact, Referral
from tests.contacts.conftest import contact_form, in_days, local_today, post_contact
from tests.support import csrf_from, in_group, login


def checked_channel(html: str) -> str | None:
    match = re.search(r'<input checked[^>]*name="channel"[^>]*value="([a-z_]+)"', html)
    return match.group(1) if match else None


def _count(db, group_id, model):  # type: ignore[no-untyped-def]
    with in_group(group_id):
        return db.session.scalar(select(func.count()).select_from(model))


def test_page_is_small_and_has_no_inline_script(client, group_setup):
    a, _b, users, _p = group_setup
    login(client, "a-peer")
    page = client.get("/g/group-a/contacts/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # One script, the offline queue's, from our own static files; nothing inline.
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.S)
    assert scripts == [""]
    assert re.search(r'<script src="/static/offline\.js\?v=[0-9a-f]{12}" defer>', html)
    assert "style=" not in html and " onclick" not in html
    assert len(gzip.compress(page.get_data())) < 30 * 1024
    # The default date is today in the group's timezone, and the channel defaults to in person.
    assert f'value="{local_today().isoformat()}"' in html
    assert checked_channel(html) == "in_person"


def _referral_rows(html: str) -> int:
    """Referral rows shown (the page's script shows the next hidden one without a reload)."""
    return len(re.findall(r'<div class="ref" id="referral-\d+">', html))


def test_referral_rows_are_added_on_demand_keeping_what_was_typed(client, db, group_setup):
    a, _b, _users, providers = group_setup
    login(client, "a-peer")
    page = client.get("/g/group-a/contacts/new").get_data(as_text=True)
    assert _referral_rows(page) == 1  # most contacts have no referral: one row, blank
    data = contact_form(page, **{"referrals-0-service": "hiv_test", "action": "add_referral",
                                 "referral_rows": "1", "notes": "met at the park"})
    response = client.post("/g/group-a/contacts/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and _referral_rows(html) == 2
    assert 'value="hiv_test" selected' in html or 'selected value="hiv_test"' in html
    assert "met at the park" in html and 'value="Xuyến"' in html
    assert _count(db, a.id, Contact) == 0  # adding a row saves nothing
    # A third row, filled and saved: every referral is kept.
    data = contact_form(html, **{"referrals-0-service": "hiv_test",
                                 "referrals-1-service": "legal_aid",
                                 "referrals-1-provider": str(providers["group-a"][1]),
                                 "action": "add_referral", "referral_rows": "2"})
    html = client.post("/g/group-a/contacts/new", data=data).get_data(as_text=True)
    assert _referral_rows(html) == 3 and "Add another referral" not in html
    data = contact_form(html, **{"referrals-0-service": "hiv_test",
                                 "referrals-1-service": "legal_aid",
                                 "referrals-2-service": "pep", "referral_rows": "3"})
    assert client.post("/g/group-a/contacts/new", data=data).status_code == 302
    with in_group(a.id):
        services = db.session.scalars(select(Referral.service).order_by(Referral.id)).all()
    assert services == ["hiv_test", "legal_aid", "pep"]


def test_a_refused_form_shows_every_referral_row_in_use(client, group_setup):
    login(client, "a-peer")
    response, _ = post_contact(client, "group-a", **{"referrals-2-provider": "999999"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and _referral_rows(html) == 3


def test_peer_saves_an_individual_contact(client, db, group_setup):
    a, _b, users, _p = group_setup
    login(client, "a-peer")
    response, _data = post_contact(client, "group-a", channel="zalo", lubricants="3",
                                   topics=["safer_sex", "hiv_sti"])
    assert response.status_code == 302
    assert "/contacts/new?saved=" in response.headers["Location"]
    with in_group(a.id):
        contact = db.session.scalar(select(Contact))
        assert contact.channel == "zalo"
        assert (contact.condoms, contact.lubricants) == (10, 3)
        assert contact.counselling_topics == ["safer_sex", "hiv_sti"]
        assert contact.peer_educator_id == users["a_peer"].id
        client_row = db.session.scalar(select(Client))
        assert client_row.sex == "F"
        assert client_row.age_band in ("25-34", "18-24")  # derived from 1996
    # The channel used last becomes the default.
    assert checked_channel(client.get("/g/group-a/contacts/new").get_data(as_text=True)) == "zalo"


def test_returning_client_check_shows_counts_and_open_referrals(client, db, group_setup):
    a, _b, _users, providers = group_setup
    login(client, "a-peer")
    post_contact(client, "group-a", **{"referrals-0-service": "hepatitis_test"})
    post_contact(client, "group-a", mother="xuyen", father="QUYNH ", birth_year=" 1996")
    page = client.get("/g/group-a/contacts/new")
    from tests.contacts.conftest import contact_form

    data = contact_form(page.get_data(as_text=True), mother="XUYẾN", father="quỳnh",
                        action="check")
    checked = client.post("/g/group-a/contacts/new", data=data)
    assert checked.status_code == 200
    html = checked.get_data(as_text=True)
    assert "Returning client" in html
    assert "seen 2 times" in html
    assert "Hepatitis B/C testing" in html
    # The same answers for a new person: a new client.
    data = contact_form(page.get_data(as_text=True), mother="Lan", action="check")
    assert "New client" in client.post("/g/group-a/contacts/new",
                                       data=data).get_data(as_text=True)
    assert _count(db, a.id, Client) == 1
    assert _count(db, a.id, Contact) == 2


def test_group_session_records_participants_without_client(client, db, group_setup):
    a, _b, _users, _p = group_setup
    login(client, "a-peer")
    response, _ = post_contact(client, "group-a", channel="group_session", participants="12",
                               mother=None, father=None, sex=None, birth_year=None)
    assert response.status_code == 302
    with in_group(a.id):
        contact = db.session.scalar(select(Contact))
        assert contact.client_id is None and contact.participants_count == 12
    assert _count(db, a.id, Client) == 0


def test_referral_with_appointment_and_reminder(client, db, group_setup):
    a, _b, _users, providers = group_setup
    login(client, "a-peer")
    day, at = in_days(3, 10)
    response, _ = post_contact(client, "group-a", **{
        "referrals-0-service": "hiv_test",
        "referrals-0-provider": str(providers["group-a"][0]),
        "referrals-0-appt_date": day, "referrals-0-appt_time": at,
        "referrals-0-reminder_consent": "y", "referrals-0-reminder_channel": "sms",
        "referrals-0-contact_value": "0912 345 678",
        "referrals-1-service": "legal_aid",
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    with in_group(a.id):
        referrals = db.session.scalars(select(Referral).order_by(Referral.id)).all()
        assert [r.service for r in referrals] == ["hiv_test", "legal_aid"]
        assert [r.status for r in referrals] == ["booked", "referred"]
        appointment = db.session.scalar(select(Appointment))
        assert appointment.contact_value == "0912 345 678"
        assert appointment.channel == "sms" and appointment.reminder_consent
        assert appointment.provider_id == providers["group-a"][0]
        local = appointment.scheduled_at.astimezone(__import__("zoneinfo").ZoneInfo(
            "Asia/Ho_Chi_Minh"))
        assert (local.date().isoformat(), local.strftime("%H:%M")) == (day, at)
        assert (appointment.purge_after - appointment.scheduled_at).days == 7
        raw = db.session.execute(
            __import__("sqlalchemy").text("SELECT contact_value FROM appointments")).scalar()
        assert "0912" not in raw  # encrypted at rest


def test_appointment_without_consent_keeps_no_contact_value(client, db, group_setup):
    a, _b, _users, _p = group_setup
    login(client, "a-peer")
    day, at = in_days(2)
    response, _ = post_contact(client, "group-a", **{
        "referrals-0-service": "pep", "referrals-0-appt_date": day,
        "referrals-0-appt_time": at, "referrals-0-reminder_channel": "sms",
        "referrals-0-contact_value": "0912 345 678",
    })
    assert response.status_code == 302
    with in_group(a.id):
        appointment = db.session.scalar(select(Appointment))
        assert appointment.contact_value is None and not appointment.reminder_consent


def test_same_answers_in_two_groups_make_two_unrelated_clients(client, db, group_setup):
    a, b, _users, _p = group_setup
    login(client, "a-peer")
    post_contact(client, "group-a")
    client.post("/logout", data={"csrf_token": csrf_from(
        client.get("/g/group-a/contacts/new").get_data(as_text=True))})
    login(client, "b-peer")
    response, _ = post_contact(client, "group-b")
    assert response.status_code == 302
    with in_group(a.id):
        first = db.session.scalar(select(Client.pseudonym))
    with in_group(b.id):
        second = db.session.scalar(select(Client.pseudonym))
    assert first and second and first != second
    # Group B's check does not see group A's client: a new client there.
    from tests.contacts.conftest import contact_form

    page = client.get("/g/group-b/contacts/new")
    data = contact_form(page.get_data(as_text=True), action="check")
    html = client.post("/g/group-b/contacts/new", data=data).get_data(as_text=True)
    assert "seen 1 time" in html
