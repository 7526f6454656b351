"""Sending: discreet texts, quiet hours, skips, retries, the SMS cap, at most once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from harmnet.models import OutboxMessage, Reminder
from tests.reminders.conftest import (
    MORNING,
    claim_only,
    hanoi,
    reminders_of,
    run_due,
    set_settings,
    synced,
)
from tests.support import in_group


def outbox(db, group):  # type: ignore[no-untyped-def]
    with in_group(group.id):
        rows = [(m.reminder_id, m.recipient, m.body)
                for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
        db.session.commit()
    return rows


def test_due_reminder_lands_in_the_outbox_discreetly(db, group, make_appointment):
    set_settings(db, group, reminder_lead_hours=[2])
    appt = make_appointment(group, hanoi(2030, 3, 4, 13, 0))  # 13:00 in Hanoi
    [rid] = synced(db, group, appt, MORNING)
    assert run_due(MORNING) == []  # not due yet
    assert run_due(hanoi(2030, 3, 4, 11, 0)) == ["sent"]
    [(reminder_id, recipient, body)] = outbox(db, group)
    assert reminder_id == rid and recipient == "+84901234567"
    assert body == "Chào bạn, nhắc bạn lịch hẹn lúc 13:00 ngày 04/03, tại 12 Phố Huế."
    [row] = reminders_of(db, group)
    assert row.status == "sent" and row.provider_message_id.startswith("outbox:")
    assert row.attempts == 1
    assert run_due(hanoi(2030, 3, 4, 11, 5)) == []  # never twice


def test_an_outbox_reminder_needs_no_contact_value(db, group, make_appointment):
    # The entry form offers "Outbox (the coordinator passes it on)" without a number; such a
    # reminder once was never written, silently (found by the browser suite).
    set_settings(db, group, reminder_lead_hours=[2])
    appt = make_appointment(group, hanoi(2030, 3, 4, 13, 0), contact=None, channel="outbox")
    [rid] = synced(db, group, appt, MORNING)
    assert run_due(hanoi(2030, 3, 4, 11, 0)) == ["sent"]
    [(reminder_id, recipient, body)] = outbox(db, group)
    assert reminder_id == rid and not recipient
    assert body == "Chào bạn, nhắc bạn lịch hẹn lúc 13:00 ngày 04/03, tại 12 Phố Huế."


def test_text_is_in_the_recipients_language(db, group, make_appointment):
    from harmnet.services.reminders import sync_appointment_reminders

    set_settings(db, group, reminder_lead_hours=[2])
    appt = make_appointment(group, hanoi(2030, 3, 4, 13, 0), provider=None)
    with in_group(group.id):
        sync_appointment_reminders(appt, now=MORNING, locale="en")
        db.session.commit()
    run_due(hanoi(2030, 3, 4, 11, 0))
    [(_, _, body)] = outbox(db, group)
    assert body == "Hello, a reminder of your appointment at 13:00 on 4 Mar, the agreed place."


def test_a_revealing_place_name_is_replaced(db, group, make_appointment):
    set_settings(db, group, reminder_lead_hours=[2])
    appt = make_appointment(group, hanoi(2030, 3, 4, 13, 0), provider="Phòng khám HIV số 3")
    synced(db, group, appt, MORNING)
    run_due(hanoi(2030, 3, 4, 11, 0))
    [(_, _, body)] = outbox(db, group)
    assert "HIV" not in body and "nơi đã hẹn" in body


def test_due_at_2230_goes_out_at_0700(db, group, make_appointment):
    set_settings(db, group, reminder_lead_hours=[12])
    appt = make_appointment(group, hanoi(2030, 3, 5, 10, 30))
    synced(db, group, appt, MORNING)
    assert run_due(hanoi(2030, 3, 4, 22, 30)) == ["postponed"]
    [row] = reminders_of(db, group)
    assert row.status == "pending" and row.send_at == hanoi(2030, 3, 5, 7, 0)
    assert row.last_error == "quiet_hours_postponed"
    assert run_due(hanoi(2030, 3, 5, 6, 59)) == []
    assert outbox(db, group) == []
    assert run_due(hanoi(2030, 3, 5, 7, 0)) == ["sent"]
    assert len(outbox(db, group)) == 1


def test_appointment_before_0700_is_skipped_with_its_reason(db, group, make_appointment):
    set_settings(db, group, reminder_lead_hours=[8])
    appt = make_appointment(group, hanoi(2030, 3, 5, 6, 30))
    synced(db, group, appt, MORNING)
    assert run_due(hanoi(2030, 3, 4, 22, 30)) == ["skipped"]
    [row] = reminders_of(db, group)
    assert (row.status, row.last_error) == ("skipped", "quiet_hours")
    assert outbox(db, group) == []


def test_group_quiet_hours_apply(db, group, make_appointment):
    set_settings(db, group, reminder_lead_hours=[3], quiet_start="12:00", quiet_end="14:00")
    appt = make_appointment(group, hanoi(2030, 3, 4, 18, 0))
    synced(db, group, appt, MORNING)
    assert run_due(hanoi(2030, 3, 4, 15, 0)) == ["sent"]  # 15:00 is outside 12-14
    appt2 = make_appointment(group, hanoi(2030, 3, 5, 16, 0))
    synced(db, group, appt2, MORNING)
    assert run_due(hanoi(2030, 3, 5, 13, 0)) == ["postponed"]


def test_cancelled_after_claim_is_skipped(db, group, make_appointment):
    set_settings(db, group, reminder_lead_hours=[2])
    appt = make_appointment(group, hanoi(2030, 3, 4, 13, 0))
    synced(db, group, appt, MORNING)
    now = hanoi(2030, 3, 4, 11, 0)
    [(gid, rid)] = claim_only(now)
    with in_group(group.id):
        appt.status = "cancelled"  # no sync: the send task must notice by itself
        db.session.commit()
    from worker.tasks.reminders import deliver

    assert deliver(gid, rid, now=now) == "skipped"
    [row] = reminders_of(db, group)
    assert (row.status, row.last_error) == ("skipped", "appointment_cancelled")


def test_past_appointment_is_skipped(db, group, make_appointment):
    set_settings(db, group, reminder_lead_hours=[2])
    appt = make_appointment(group, hanoi(2030, 3, 4, 13, 0))
    synced(db, group, appt, MORNING)
    assert run_due(hanoi(2030, 3, 4, 13, 30)) == ["skipped"]
    assert reminders_of(db, group)[0].last_error == "too_late"


def test_after_an_outage_only_the_latest_due_reminder_goes(db, group, make_appointment):
    appt = make_appointment(group, hanoi(2030, 3, 6, 15, 0))
    synced(db, group, appt, MORNING)
    assert sorted(run_due(hanoi(2030, 3, 6, 13, 30))) == ["sent", "skipped"]
    rows = reminders_of(db, group)
    assert [(r.status, r.last_error) for r in rows] == [("skipped", "superseded"),
                                                       ("sent", None)]
    assert len(outbox(db, group)) == 1


def test_training_reminder_goes_to_the_member(db, group, make_attendance):
    from harmnet.services.reminders import sync_attendance_reminders

    set_settings(db, group, reminder_lead_hours=[24])
    attendance = make_attendance(group, hanoi(2030, 3, 6, 9, 0))
    with in_group(group.id):
        sync_attendance_reminders(attendance, now=MORNING)
        db.session.commit()
    assert run_due(hanoi(2030, 3, 5, 9, 0)) == ["sent"]
    [(_, recipient, body)] = outbox(db, group)
    assert recipient == "+84907654321"
    assert body == "Chào bạn, nhắc bạn buổi gặp lúc 09:00 ngày 06/03, tại Nhà văn hoá phường."


def test_daily_sms_cap_postpones_to_the_next_morning(db, group, make_appointment):
    set_settings(db, group, reminder_lead_hours=[24], daily_sms_cap=2)
    for _ in range(3):
        synced(db, group, make_appointment(group, hanoi(2030, 3, 6, 15, 0)), MORNING)
    outcomes = run_due(hanoi(2030, 3, 5, 15, 0))
    assert sorted(outcomes) == ["postponed", "sent", "sent"]
    [held] = reminders_of(db, group, status="pending")
    assert held.send_at == hanoi(2030, 3, 6, 7, 0)
    assert held.last_error == "daily_sms_cap_postponed"
    assert run_due(hanoi(2030, 3, 6, 7, 0)) == ["sent"]


def test_email_reminders_do_not_count_against_the_sms_cap(db, group, make_appointment):
    set_settings(db, group, reminder_lead_hours=[24], daily_sms_cap=1)
    for n in range(3):
        appt = make_appointment(group, hanoi(2030, 3, 6, 15, 0), channel="email",
                                contact=f"p{n}@example.org")
        synced(db, group, appt, MORNING)
    assert run_due(hanoi(2030, 3, 5, 15, 0)) == ["sent", "sent", "sent"]


# --- at most once -------------------------------------------------------------------------


def test_a_second_delivery_of_the_same_message_does_nothing(db, group, make_appointment,
                                                            gateway):
    from worker.tasks.reminders import deliver

    set_settings(db, group, reminder_lead_hours=[2])
    synced(db, group, make_appointment(group, hanoi(2030, 3, 4, 13, 0)), MORNING)
    now = hanoi(2030, 3, 4, 11, 0)
    [(gid, rid)] = claim_only(now)
    assert deliver(gid, rid, now=now) == "sent"
    assert deliver(gid, rid, now=now) == "not_ours"
    assert gateway.posts == {reminders_of(db, group)[0].idempotency_key: 1}


def test_claimed_but_never_started_is_sent_later_once(db, group, make_appointment, gateway):
    set_settings(db, group, reminder_lead_hours=[2])
    synced(db, group, make_appointment(group, hanoi(2030, 3, 4, 13, 0)), MORNING)
    now = hanoi(2030, 3, 4, 11, 0)
    claim_only(now)  # the broker lost the message
    assert run_due(now + timedelta(seconds=60)) == []  # not stale yet
    assert run_due(now + timedelta(seconds=301)) == ["sent"]
    assert list(gateway.posts.values()) == [1]


def _die_after_handing(db, group, now, *, post: bool):  # type: ignore[no-untyped-def]
    """What a worker killed mid-send leaves: handed_at committed, maybe a POST, no result."""
    from flask import current_app

    from harmnet.extensions import db as _db
    from harmnet.services import reminders
    from harmnet.services.reminder_channels import channel_for

    [(gid, rid)] = claim_only(now)
    with in_group(gid):
        plan = reminders.begin_send(rid, now)
        _db.session.commit()
        if post:
            channel_for(plan.channel, current_app.config).send(plan.message)
        _db.session.rollback()


def test_worker_killed_after_the_gateway_got_it_is_confirmed_not_resent(
        db, group, make_appointment, gateway):
    set_settings(db, group, reminder_lead_hours=[2])
    synced(db, group, make_appointment(group, hanoi(2030, 3, 4, 13, 0)), MORNING)
    now = hanoi(2030, 3, 4, 11, 0)
    _die_after_handing(db, group, now, post=True)
    assert reminders_of(db, group)[0].status == "sending"
    run_due(now + timedelta(seconds=301))
    [row] = reminders_of(db, group)
    assert (row.status, row.provider_message_id) == ("sent", "gw-1")
    assert list(gateway.posts.values()) == [1]


def test_worker_killed_before_the_gateway_got_it_is_sent_once(
        db, group, make_appointment, gateway):
    set_settings(db, group, reminder_lead_hours=[2])
    synced(db, group, make_appointment(group, hanoi(2030, 3, 4, 13, 0)), MORNING)
    now = hanoi(2030, 3, 4, 11, 0)
    _die_after_handing(db, group, now, post=False)
    later = now + timedelta(seconds=301)
    run_due(later)  # confirms "not received": pending again, due now
    run_due(later + timedelta(seconds=1))
    [row] = reminders_of(db, group)
    assert row.status == "sent"
    assert list(gateway.posts.values()) == [1]


def test_outbox_send_interrupted_is_sent_once(db, group, make_appointment):
    set_settings(db, group, reminder_lead_hours=[2])
    synced(db, group, make_appointment(group, hanoi(2030, 3, 4, 13, 0)), MORNING)
    now = hanoi(2030, 3, 4, 11, 0)
    _die_after_handing(db, group, now, post=True)  # the outbox row rolled back with it
    later = now + timedelta(seconds=301)
    run_due(later)
    run_due(later + timedelta(seconds=1))
    assert reminders_of(db, group)[0].status == "sent"
    assert len(outbox(db, group)) == 1


def test_stale_email_send_becomes_uncertain_and_is_not_resent(db, group, make_appointment,
                                                              app):
    app.config["REMINDER_SMTP_HOST"] = "127.0.0.1"  # e-mail cannot confirm by key
    set_settings(db, group, reminder_lead_hours=[2])
    appt = make_appointment(group, hanoi(2030, 3, 4, 13, 0), channel="email",
                            contact="hoa@example.org")
    synced(db, group, appt, MORNING)
    now = hanoi(2030, 3, 4, 11, 0)
    _die_after_handing(db, group, now, post=False)
    run_due(now + timedelta(seconds=301))
    run_due(now + timedelta(seconds=400))
    [row] = reminders_of(db, group)
    assert (row.status, row.last_error) == ("uncertain", "worker_lost")


# --- failures -----------------------------------------------------------------------------


def test_transient_errors_retry_with_backoff_then_fail(db, group, make_appointment, gateway):
    gateway.mode = "503"
    set_settings(db, group, reminder_lead_hours=[24])
    synced(db, group, make_appointment(group, hanoi(2030, 3, 6, 15, 0)), MORNING)
    now = hanoi(2030, 3, 5, 15, 0)
    delays = []
    for _ in range(4):
        assert run_due(now) == ["pending"]
        [row] = reminders_of(db, group)
        delays.append((row.send_at - now).total_seconds())
        assert row.last_error == "retry:http_503"
        now = row.send_at
    assert delays == [60, 120, 240, 480]
    assert run_due(now) == ["failed"]
    [row] = reminders_of(db, group)
    assert (row.status, row.attempts, row.last_error) == ("failed", 5, "gave_up:http_503")


def test_rate_limited_then_accepted(db, group, make_appointment, gateway):
    gateway.mode = "flaky"
    set_settings(db, group, reminder_lead_hours=[24])
    synced(db, group, make_appointment(group, hanoi(2030, 3, 6, 15, 0)), MORNING)
    now = hanoi(2030, 3, 5, 15, 0)
    assert run_due(now) == ["pending"]
    assert run_due(now + timedelta(seconds=60)) == ["sent"]
    assert len(gateway.receipts) == 1


def test_invalid_number_fails_at_once_without_storing_it(db, group, make_appointment,
                                                         gateway):
    set_settings(db, group, reminder_lead_hours=[24])
    appt = make_appointment(group, hanoi(2030, 3, 6, 15, 0), contact="0901 234")
    synced(db, group, appt, MORNING)
    assert run_due(hanoi(2030, 3, 5, 15, 0)) == ["failed"]
    [row] = reminders_of(db, group)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "http_400:invalid_number"


def test_unreachable_gateway_is_transient(db, group, make_appointment, app):
    app.config["REMINDER_SMS_GATEWAY_URL"] = "http://127.0.0.1:9/sms"  # nothing listens
    set_settings(db, group, reminder_lead_hours=[24])
    synced(db, group, make_appointment(group, hanoi(2030, 3, 6, 15, 0)), MORNING)
    assert run_due(hanoi(2030, 3, 5, 15, 0)) == ["pending"]
    assert reminders_of(db, group)[0].last_error == "retry:connection_error"


def test_group_name_in_a_template_is_checked_at_send_time(db, make_group, make_appointment,
                                                          staff):
    group = make_group("song-hong", name="Nhóm đồng đẳng Sông Hồng")
    set_settings(db, group, reminder_lead_hours=[2], reminder_templates={
        "appointment": {"vi": "{group}: hẹn lúc {time}."}})
    synced(db, group, make_appointment(group, hanoi(2030, 3, 4, 13, 0), user=staff), MORNING)
    assert run_due(hanoi(2030, 3, 4, 11, 0)) == ["failed"]
    assert reminders_of(db, group)[0].last_error == "sensitive_text"
    assert outbox(db, group) == []


def test_contact_values_are_erased_after_retention(db, group, make_appointment):
    from harmnet.models import Appointment
    from harmnet.models._types import utcnow
    from worker.tasks.contacts import purge_appointment_contacts

    now = utcnow()
    old = make_appointment(group, now - timedelta(days=8))  # retention: 7 days
    new = make_appointment(group, now - timedelta(days=6))
    old_id, new_id = old.id, new.id
    synced(db, group, old, now - timedelta(days=40))
    synced(db, group, new, now - timedelta(days=40))
    purge_appointment_contacts.run()
    with in_group(group.id):
        values = {a.id: a.contact_value for a in db.session.scalars(select(Appointment))}
        db.session.commit()
    assert values == {old_id: None, new_id: "+84901234567"}
    assert {r.status for r in reminders_of(db, group, appointment_id=old_id)} <= {"cancelled"}


def test_the_beat_task_queues_and_sends(db, group, make_appointment):
    """Through Celery itself (eager in the test configuration): dispatch, then send."""
    from harmnet.models._types import utcnow
    from worker.tasks.reminders import dispatch_due

    set_settings(db, group, reminder_lead_hours=[2], quiet_start="00:00", quiet_end="00:00")
    now = utcnow()
    synced(db, group, make_appointment(group, now + timedelta(hours=2, minutes=30)),
           now - timedelta(hours=1))
    with in_group(group.id):
        row = db.session.scalars(select(Reminder)).one()
        row.send_at = now - timedelta(minutes=1)
        db.session.commit()
    assert dispatch_due.delay().get() == 1
    assert [r.status for r in reminders_of(db, group)] == ["sent"]
    assert len(outbox(db, group)) == 1
