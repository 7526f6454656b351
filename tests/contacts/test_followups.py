"""Follow-ups, referral outcomes, appointments, the cascade, providers and the purge task."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from harmnet.models import Appointment, AuditEvent, Referral
from harmnet.models._types import utcnow
from harmnet.services.contacts import AppointmentInput, ReferralInput
from tests.contacts.conftest import in_days, local_today, make_contact
from tests.support import csrf_from, in_group, login


def _soon(hours: int) -> AppointmentInput:
    return AppointmentInput(scheduled_at=utcnow() + timedelta(hours=hours),
                            reminder_consent=True, channel="sms", contact_value="0912345678")


@pytest.fixture
def followup_world(group_setup, db):  # type: ignore[no-untyped-def]
    a, b, users, made = group_setup
    clinic = made["group-a"][0]
    mine = make_contact(a.id, users["a_peer"].id, days_ago=20, referrals=[
        ReferralInput("hepatitis_test", clinic),                   # open for 20 days
        ReferralInput("hiv_test", clinic, _soon(48)),              # appointment in 2 days
        ReferralInput("pep", clinic, _soon(24 * 10)),              # in 10 days: not listed
    ])
    other = make_contact(a.id, users["a_peer2"].id, days_ago=30, code="HOBIF1980",
                         referrals=[ReferralInput("legal_aid", made["group-a"][1])])
    recent = make_contact(a.id, users["a_peer"].id, days_ago=2, code="MAMAF1999",
                          referrals=[ReferralInput("tb_screening")])
    with in_group(a.id):
        refs = {r.service: r.id for r in db.session.scalars(select(Referral))}
        appts = {db.session.get(Referral, a_.referral_id).service: a_.id
                 for a_ in db.session.scalars(select(Appointment))}
    make_contact(b.id, users["b_peer"].id, days_ago=20,
                 referrals=[ReferralInput("hepatitis_test", made["group-b"][0], _soon(30))])
    return a, b, users, made, {"mine": mine, "other": other, "recent": recent,
                               "refs": refs, "appts": appts}


def _token(client):  # type: ignore[no-untyped-def]
    return csrf_from(client.get("/g/group-a/contacts/new").get_data(as_text=True))


def test_peer_follow_ups_show_only_their_own(client, followup_world):
    *_, w = followup_world
    login(client, "a-peer")
    html = client.get("/g/group-a/contacts/follow-ups").get_data(as_text=True)
    assert f"/referrals/{w['refs']['hepatitis_test']}\"" in html     # open > 14 days
    assert f"/referrals/{w['refs']['hiv_test']}\"" in html           # appointment in 2 days
    assert f"/appointments/{w['appts']['pep']}/" not in html          # 10 days away
    assert f"/referrals/{w['refs']['tb_screening']}\"" not in html   # open only 2 days
    assert f"/referrals/{w['refs']['legal_aid']}\"" not in html      # another peer's
    assert client.get(f"/g/group-a/contacts/referrals/{w['refs']['legal_aid']}").status_code \
        == 404


def test_follow_ups_name_services_in_the_page_language(client, followup_world):
    from tests.support import post_form

    login(client, "a-peer")
    page = "/g/group-a/contacts/follow-ups"
    for language, hiv, hepatitis in (("vi", "Xét nghiệm HIV", "Xét nghiệm viêm gan B/C"),
                                     ("en", "HIV testing", "Hepatitis B/C testing"),
                                     ("vi", "Xét nghiệm HIV", "Xét nghiệm viêm gan B/C")):
        post_form(client, "/lang", {"lang": language, "next": page}, page=page)
        html = client.get(page).get_data(as_text=True)
        assert f"<strong>{hiv}</strong>" in html and f"<strong>{hepatitis}</strong>" in html
        assert ("HIV testing" in html) == (language == "en")


def test_coordinator_follow_ups_cover_the_group(client, followup_world):
    *_, w = followup_world
    login(client, "a-coord")
    html = client.get("/g/group-a/contacts/follow-ups").get_data(as_text=True)
    assert f"/referrals/{w['refs']['legal_aid']}\"" in html


def test_attended_completes_the_referral(client, db, followup_world):
    a, *_, w = followup_world
    login(client, "a-peer")
    appt = w["appts"]["hiv_test"]
    with in_group(a.id):  # the appointment was this morning
        db.session.execute(update(Appointment).where(Appointment.id == appt).values(
            scheduled_at=utcnow() - timedelta(hours=3)))
        db.session.commit()
    html = client.get("/g/group-a/contacts/follow-ups").get_data(as_text=True)
    assert "Past appointments not yet marked" in html
    response = client.post(f"/g/group-a/contacts/appointments/{appt}/attended",
                           data={"csrf_token": _token(client), "back": "follow-ups"})
    assert response.status_code == 302 and response.headers["Location"].endswith("follow-ups")
    with in_group(a.id):
        assert db.session.get(Appointment, appt).status == "attended"
        referral = db.session.get(Referral, w["refs"]["hiv_test"])
        assert (referral.status, referral.completed_on) == ("completed", local_today())
        assert db.session.scalar(select(AuditEvent.object_id).where(
            AuditEvent.action == "appointment.attended")) == appt


def test_a_future_appointment_cannot_be_marked(client, db, followup_world):
    a, *_, w = followup_world
    login(client, "a-peer")
    client.post(f"/g/group-a/contacts/appointments/{w['appts']['pep']}/missed",
                data={"csrf_token": _token(client)})
    with in_group(a.id):
        assert db.session.get(Appointment, w["appts"]["pep"]).status == "scheduled"


def test_missed_then_rescheduled(client, db, followup_world):
    a, *_, w = followup_world
    login(client, "a-peer")
    appt = w["appts"]["hiv_test"]
    with in_group(a.id):
        db.session.execute(update(Appointment).where(Appointment.id == appt).values(
            scheduled_at=utcnow() - timedelta(days=1)))
        db.session.commit()
    client.post(f"/g/group-a/contacts/appointments/{appt}/missed",
                data={"csrf_token": _token(client)})
    html = client.get("/g/group-a/contacts/follow-ups").get_data(as_text=True)
    assert html.count(f"/appointments/{appt}/reschedule") == 1  # listed as missed
    page = client.get(f"/g/group-a/contacts/appointments/{appt}/reschedule")
    assert page.status_code == 200
    token = csrf_from(page.get_data(as_text=True))
    past = client.post(f"/g/group-a/contacts/appointments/{appt}/reschedule", data={
        "csrf_token": token, "appt_date": in_days(-2)[0], "appt_time": "09:00"})
    assert past.status_code == 400
    assert "must be in the future" in past.get_data(as_text=True)
    day, at = in_days(6, 15)
    moved = client.post(f"/g/group-a/contacts/appointments/{appt}/reschedule", data={
        "csrf_token": token, "appt_date": day, "appt_time": at})
    assert moved.status_code == 302
    with in_group(a.id):
        appointment = db.session.get(Appointment, appt)
        assert appointment.status == "scheduled"
        assert (appointment.purge_after - appointment.scheduled_at) == timedelta(days=7)
        assert appointment.scheduled_at.strftime("%H:%M") == "08:00"  # 15:00 in Hanoi


def test_cancel_erases_the_contact_value_and_reopens_the_referral(client, db, followup_world):
    a, *_, w = followup_world
    login(client, "a-peer")
    appt = w["appts"]["hiv_test"]
    token = _token(client)
    # The button asks first: the answer is a page with a second button, nothing changes.
    asked = client.post(f"/g/group-a/contacts/appointments/{appt}/cancel",
                        data={"csrf_token": token, "back": "follow-ups"})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Yes, cancel the appointment" in html
    assert 'name="confirmed" value="yes"' in html and 'name="back" value="follow-ups"' in html
    assert 'href="/g/group-a/contacts/follow-ups"' in html  # "No, keep it" goes back
    with in_group(a.id):
        assert db.session.get(Appointment, appt).status == "scheduled"
    done = client.post(f"/g/group-a/contacts/appointments/{appt}/cancel",
                       data={"csrf_token": token, "confirmed": "yes", "back": "follow-ups"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/follow-ups")
    with in_group(a.id):
        appointment = db.session.get(Appointment, appt)
        assert appointment.status == "cancelled" and appointment.contact_value is None
        assert db.session.get(Referral, w["refs"]["hiv_test"]).status == "referred"
    # A closed appointment cannot be rescheduled or cancelled again.
    assert client.get(f"/g/group-a/contacts/appointments/{appt}/reschedule").status_code == 404


def test_referral_outcome_and_booking(client, db, followup_world):
    a, *_, w = followup_world
    login(client, "a-peer")
    ref = w["refs"]["hepatitis_test"]
    page = client.get(f"/g/group-a/contacts/referrals/{ref}")
    assert page.status_code == 200
    token = csrf_from(page.get_data(as_text=True))
    future = client.post(f"/g/group-a/contacts/referrals/{ref}", data={
        "csrf_token": token, "status": "completed",
        "completed_on": in_days(3)[0]})
    assert future.status_code == 400
    assert "cannot be in the future" in future.get_data(as_text=True)
    day, at = in_days(1, 8)
    booked = client.post(f"/g/group-a/contacts/referrals/{ref}/appointment", data={
        "csrf_token": token, "appt_date": day, "appt_time": at,
        "reminder_consent": "y", "reminder_channel": "email", "contact_value": "not-mail"})
    assert booked.status_code == 400 and "e-mail address" in booked.get_data(as_text=True)
    booked = client.post(f"/g/group-a/contacts/referrals/{ref}/appointment", data={
        "csrf_token": token, "appt_date": day, "appt_time": at,
        "reminder_consent": "y", "reminder_channel": "email", "contact_value": "a@b.vn"})
    assert booked.status_code == 302
    with in_group(a.id):
        assert db.session.get(Referral, ref).status == "booked"
    done = client.post(f"/g/group-a/contacts/referrals/{ref}", data={
        "csrf_token": token, "status": "declined"})
    assert done.status_code == 302
    with in_group(a.id):
        referral = db.session.get(Referral, ref)
        assert (referral.status, referral.completed_on) == ("declined", None)


def test_cross_group_appointment_actions_are_404(client, db, followup_world):
    a, b, *_ = followup_world
    with in_group(b.id):
        theirs = db.session.scalar(select(Appointment.id))
    login(client, "a-coord")
    token = _token(client)
    for action in ("attended", "missed", "cancel"):
        assert client.post(f"/g/group-a/contacts/appointments/{theirs}/{action}",
                           data={"csrf_token": token}).status_code == 404
    assert client.get(f"/g/group-a/contacts/appointments/{theirs}/reschedule").status_code \
        == 404
    with in_group(b.id):
        assert db.session.get(Appointment, theirs).status == "scheduled"


def test_peer_cannot_act_on_another_peers_appointment(client, db, followup_world):
    a, *_, w = followup_world
    login(client, "a-peer2")
    token = _token(client)
    appt = w["appts"]["hiv_test"]
    assert client.post(f"/g/group-a/contacts/appointments/{appt}/cancel",
                       data={"csrf_token": token}).status_code == 404


def test_cascade_counts_by_service(client, followup_world):
    login(client, "a-coord")
    month = local_today() - timedelta(days=2)  # the month of the "recent" contact
    page = client.get(f"/g/group-a/contacts/cascade?month={month:%Y-%m}")
    assert page.status_code == 200
    assert "TB screening" in page.get_data(as_text=True)
    bad = client.get("/g/group-a/contacts/cascade?month=2024-13")
    assert bad.status_code == 400 and "Choose a month like" in bad.get_data(as_text=True)


def test_cascade_service_sums(db, followup_world):
    a, *_ = followup_world
    from harmnet.services.contacts import referral_cascade

    with in_group(a.id):
        rows = {r.service: r for r in referral_cascade(local_today() - timedelta(days=60),
                                                       local_today())}
    assert rows["hiv_test"].referred == 1 and rows["hiv_test"].booked == 1
    assert rows["hepatitis_test"].booked == 0
    assert rows["legal_aid"].referred == 1
    assert sum(r.referred for r in rows.values()) == 5  # group B's referral is not counted


def test_purge_task_erases_only_expired_values(app, db, followup_world):
    a, b, *_ , w = followup_world
    from worker.tasks.contacts import purge_appointment_contacts

    with in_group(a.id):
        db.session.execute(update(Appointment).where(
            Appointment.id == w["appts"]["hiv_test"]).values(
            purge_after=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    with in_group(b.id):
        db.session.execute(update(Appointment).values(
            purge_after=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    erased = purge_appointment_contacts.delay().get()
    assert erased == 2
    db.session.rollback()
    with in_group(a.id):
        assert db.session.get(Appointment, w["appts"]["hiv_test"]).contact_value is None
        assert db.session.get(Appointment, w["appts"]["pep"]).contact_value == "0912345678"
    with in_group(b.id):
        assert db.session.scalar(select(Appointment.contact_value)) is None


def test_purge_is_in_the_beat_schedule():
    from worker.schedule import BEAT_SCHEDULE

    tasks = {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert "worker.tasks.contacts.purge_appointment_contacts" in tasks


def test_retention_days_setting_moves_the_purge_time(db, group_setup):
    a, _b, users, made = group_setup
    a.settings = {"retention_days": 2}
    db.session.commit()
    make_contact(a.id, users["a_peer"].id,
                 referrals=[ReferralInput("hiv_test", made["group-a"][0], _soon(5))])
    with in_group(a.id):
        appointment = db.session.scalar(select(Appointment))
        assert appointment.purge_after - appointment.scheduled_at == timedelta(days=2)


def test_each_follow_up_list_keeps_its_own_order_and_limit(db, group_setup):
    from harmnet.services import contacts as service

    a, _b, users, made = group_setup
    clinic = made["group-a"][0]
    for code in ("LAMIF1990", "HOBIF1980", "MAMAF1999"):
        make_contact(a.id, users["a_peer"].id, days_ago=1, code=code, referrals=[
            ReferralInput("hiv_test", clinic, _soon(1 + n)) for n in range(3)])
    now = utcnow()
    hours = {  # (status, hours from now) for each of the nine appointments
        "upcoming": [("scheduled", 5), ("scheduled", 1), ("scheduled", 3)],
        "unmarked": [("scheduled", -24), ("scheduled", -72), ("scheduled", -48)],
        "missed": [("missed", -240), ("missed", -720), ("missed", -480)],
    }
    with in_group(a.id):
        ids = list(db.session.scalars(select(Appointment.id).order_by(Appointment.id)))
        for appointment_id, (status, h) in zip(ids, sum(hours.values(), []), strict=True):
            db.session.execute(update(Appointment).where(Appointment.id == appointment_id)
                               .values(status=status, scheduled_at=now + timedelta(hours=h)))
        db.session.commit()
        data = service.followups(peer_educator_id=users["a_peer"].id, today=local_today(),
                                 now=now, open_after_days=14, limit=2)

        def hours_of(rows):  # type: ignore[no-untyped-def]
            return [round((a_.scheduled_at - now).total_seconds() / 3600) for a_, _r in rows]

        # Each list is cut at the limit on its own, after its own order: the nearest
        # coming appointments first, the latest past ones first.
        assert hours_of(data.upcoming) == [1, 3]
        assert hours_of(data.unmarked) == [-24, -48]
        assert hours_of(data.missed) == [-240, -480]
        assert all(r.service == "hiv_test" for _a, r in data.upcoming + data.missed)
        db.session.rollback()
