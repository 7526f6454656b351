"""Reminder rows follow their appointment or training invitation, in the same transaction."""

from __future__ import annotations

from datetime import timedelta

from harmnet.services.reminders import sync_appointment_reminders, sync_attendance_reminders
from tests.reminders.conftest import MORNING, reminders_of, set_settings
from tests.support import in_group


def test_saving_an_appointment_writes_24h_and_2h_reminders(db, group, make_appointment):
    at = MORNING + timedelta(days=3)
    appt = make_appointment(group, at)
    appt_id = appt.id
    with in_group(group.id):
        rows = sync_appointment_reminders(appt, now=MORNING)
        db.session.commit()
    rows = reminders_of(db, group)
    assert [r.send_at for r in rows] == [at - timedelta(hours=24), at - timedelta(hours=2)]
    assert {r.status for r in rows} == {"pending"}
    assert all(r.channel == "sms" and r.appointment_id == appt_id for r in rows)
    assert len({r.idempotency_key for r in rows}) == 2


def test_rows_are_part_of_the_callers_transaction(db, group, make_appointment):
    appt = make_appointment(group, MORNING + timedelta(days=3))
    with in_group(group.id):
        sync_appointment_reminders(appt, now=MORNING)
        db.session.rollback()  # the appointment form failed after all
    assert reminders_of(db, group) == []


def test_lead_times_come_from_the_group_settings(db, group, make_appointment):
    set_settings(db, group, reminder_lead_hours=[48, 6, 1])
    at = MORNING + timedelta(days=3)
    appt = make_appointment(group, at)
    with in_group(group.id):
        sync_appointment_reminders(appt, now=MORNING)
        db.session.commit()
    assert [r.send_at for r in reminders_of(db, group)] == [
        at - timedelta(hours=48), at - timedelta(hours=6), at - timedelta(hours=1)]


def test_no_reminder_without_consent_or_contact_value(db, group, make_appointment):
    at = MORNING + timedelta(days=3)
    no_consent = make_appointment(group, at, consent=False)
    no_contact = make_appointment(group, at, contact=None)
    with in_group(group.id):
        sync_appointment_reminders(no_consent, now=MORNING)
        sync_appointment_reminders(no_contact, now=MORNING)
        db.session.commit()
    assert reminders_of(db, group) == []


def test_lead_times_already_past_are_not_written(db, group, make_appointment):
    appt = make_appointment(group, MORNING + timedelta(hours=5))
    with in_group(group.id):
        sync_appointment_reminders(appt, now=MORNING)
        db.session.commit()
    rows = reminders_of(db, group)
    assert [r.send_at for r in rows] == [MORNING + timedelta(hours=3)]


def test_rescheduling_moves_the_pending_rows(db, group, make_appointment):
    at = MORNING + timedelta(days=3)
    appt = make_appointment(group, at)
    with in_group(group.id):
        sync_appointment_reminders(appt, now=MORNING)
        db.session.commit()
    before = [(r.id, r.idempotency_key) for r in reminders_of(db, group)]
    new_at = at + timedelta(days=1, hours=3)
    with in_group(group.id):
        appt.scheduled_at = new_at
        sync_appointment_reminders(appt, now=MORNING)
        db.session.commit()
    after = reminders_of(db, group)
    assert [r.id for r in after] == [rid for rid, _ in before]
    assert [r.send_at for r in after] == [new_at - timedelta(hours=24),
                                         new_at - timedelta(hours=2)]
    assert not {r.idempotency_key for r in after} & {key for _, key in before}


def test_cancelling_cancels_the_pending_rows_but_not_a_sent_one(db, group, make_appointment):
    appt = make_appointment(group, MORNING + timedelta(days=3))
    with in_group(group.id):
        rows = sync_appointment_reminders(appt, now=MORNING)
        rows[0].status = "sent"
        db.session.commit()
    with in_group(group.id):
        appt.status = "cancelled"
        sync_appointment_reminders(appt, now=MORNING)
        db.session.commit()
    statuses = {r.status: r.last_error for r in reminders_of(db, group)}
    assert statuses == {"sent": None, "cancelled": "appointment_cancelled"}


def test_a_sent_reminder_is_never_written_again(db, group, make_appointment):
    appt = make_appointment(group, MORNING + timedelta(days=3))
    with in_group(group.id):
        rows = sync_appointment_reminders(appt, now=MORNING)
        for row in rows:
            row.status = "sent"
        db.session.commit()
        sync_appointment_reminders(appt, now=MORNING)  # saved again, same time
        db.session.commit()
    assert [r.status for r in reminders_of(db, group)] == ["sent", "sent"]


def test_withdrawn_consent_cancels_and_renewed_consent_restores(db, group, make_appointment):
    appt = make_appointment(group, MORNING + timedelta(days=3))
    with in_group(group.id):
        sync_appointment_reminders(appt, now=MORNING)
        appt.reminder_consent = False
        sync_appointment_reminders(appt, now=MORNING)
        db.session.commit()
    assert {r.last_error for r in reminders_of(db, group)} == {"no_consent"}
    with in_group(group.id):
        appt.reminder_consent = True
        sync_appointment_reminders(appt, now=MORNING)
        db.session.commit()
    assert [r.status for r in reminders_of(db, group)] == ["pending", "pending"]


def test_email_channel_is_kept(db, group, make_appointment):
    appt = make_appointment(group, MORNING + timedelta(days=3), channel=None,
                            contact="hoa@example.org")
    with in_group(group.id):
        sync_appointment_reminders(appt, now=MORNING)
        db.session.commit()
    assert {r.channel for r in reminders_of(db, group)} == {"email"}


def test_training_invitation_of_a_consenting_member(db, group, make_attendance):
    at = MORNING + timedelta(days=2)
    yes = make_attendance(group, at)
    no = make_attendance(group, at, consent=False)
    no_phone = make_attendance(group, at, phone=None)
    yes_id = yes.id
    with in_group(group.id):
        for attendance in (yes, no, no_phone):
            sync_attendance_reminders(attendance, now=MORNING)
        db.session.commit()
    rows = reminders_of(db, group)
    assert {r.attendance_id for r in rows} == {yes_id}
    assert len(rows) == 2


def test_cancelled_training_cancels_its_reminders(db, group, make_attendance):
    from harmnet.models import Training

    attendance = make_attendance(group, MORNING + timedelta(days=2))
    with in_group(group.id):
        sync_attendance_reminders(attendance, now=MORNING)
        training = db.session.get(Training, attendance.training_id)
        training.status = "cancelled"
        sync_attendance_reminders(attendance, now=MORNING)
        db.session.commit()
    assert {r.status for r in reminders_of(db, group)} == {"cancelled"}


def test_rows_of_one_group_are_invisible_to_another(db, make_group, make_appointment):
    a, b = make_group("group-a"), make_group("group-b")
    appt = make_appointment(a, MORNING + timedelta(days=3))
    with in_group(a.id):
        sync_appointment_reminders(appt, now=MORNING)
        db.session.commit()
    assert len(reminders_of(db, a)) == 2
    assert reminders_of(db, b) == []
