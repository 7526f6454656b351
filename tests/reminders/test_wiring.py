"""Reminder rows follow appointments and training invitations written by the other areas."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from harmnet.models import Contact, Referral, Reminder
from harmnet.models._types import utcnow
from harmnet.services import appointments, members, trainings
from tests.support import in_group


def _statuses(db, group_id, **where):
    with in_group(group_id):
        stmt = select(Reminder.status, Reminder.send_at).order_by(Reminder.send_at)
        for key, value in where.items():
            stmt = stmt.where(getattr(Reminder, key) == value)
        return [(s, t) for s, t in db.session.execute(stmt)]


def test_booking_rescheduling_and_cancelling_an_appointment_moves_its_reminders(
        db, make_group, make_user):
    group = make_group()
    peer = make_user(group=group, role="peer_educator")
    start = utcnow().replace(microsecond=0) + timedelta(days=3)
    with in_group(group.id):
        contact = Contact(group_id=group.id, occurred_on=date.today(), channel="zalo",
                          peer_educator_id=peer.id, idempotency_key="k1")
        db.session.add(contact)
        db.session.flush()
        referral = Referral(group_id=group.id, contact_id=contact.id, service="hiv_test",
                            referred_on=date.today())
        db.session.add(referral)
        db.session.flush()
        appt = appointments.create_appointment(group.id, referral.id, start,
                                               reminder_consent=True, channel="sms",
                                               contact_value="+84901234567", actor_id=peer.id)
        db.session.commit()
        appt_id = appt.id
    rows = _statuses(db, group.id, appointment_id=appt_id)
    assert [s for s, _ in rows] == ["pending", "pending"]  # 24 h and 2 h before
    assert [t for _, t in rows] == [start - timedelta(hours=24), start - timedelta(hours=2)]

    with in_group(group.id):
        appointments.reschedule_appointment(appt_id, start + timedelta(days=1), actor_id=peer.id)
        db.session.commit()
    rows = _statuses(db, group.id, appointment_id=appt_id, status="pending")
    assert [t for _, t in rows] == [start + timedelta(hours=0), start + timedelta(hours=22)]

    with in_group(group.id):
        appointments.cancel_appointment(appt_id, actor_id=peer.id)
        db.session.commit()
    assert {s for s, _ in _statuses(db, group.id, appointment_id=appt_id)} == {"cancelled"}


def test_training_invitation_of_a_consenting_member_gets_reminders(db, make_group):
    group = make_group()
    start = utcnow().replace(microsecond=0) + timedelta(days=5)
    with in_group(group.id):
        yes = members.create(alias="Hoa", phone="0912345678", reminder_consent=True)
        no = members.create(alias="Lan", phone="0987654321", reminder_consent=False)
        training = trainings.create(title="PrEP", topic="pep_prep", starts_at=start,
                                    duration_minutes=90)
        trainings.invite(training, [yes.id, no.id])
        db.session.commit()
        training_id, yes_id = training.id, yes.id
    assert [s for s, _ in _statuses(db, group.id)] == ["pending", "pending"]

    with in_group(group.id):
        trainings.update_training(trainings.get(training_id),
                                  starts_at=start + timedelta(hours=3))
        db.session.commit()
    pending = _statuses(db, group.id, status="pending")
    assert [t for _, t in pending] == [start - timedelta(hours=21), start + timedelta(hours=1)]

    with in_group(group.id):
        members.update(members.get(yes_id), reminder_consent=False)
        db.session.commit()
    assert _statuses(db, group.id, status="pending") == []


def test_cancelling_a_training_or_withdrawing_an_invitation_stops_its_reminders(db, make_group):
    group = make_group()
    start = utcnow().replace(microsecond=0) + timedelta(days=5)
    with in_group(group.id):
        hoa = members.create(alias="Hoa", phone="0912345678", reminder_consent=True)
        lan = members.create(alias="Lan", phone="0987654321", reminder_consent=True)
        training = trainings.create(title="PrEP", topic="pep_prep", starts_at=start,
                                    duration_minutes=90)
        trainings.invite(training, [hoa.id, lan.id])
        db.session.commit()
        assert len(_statuses(db, group.id, status="pending")) == 4
        trainings.uninvite(training, lan.id)
        db.session.commit()
        assert len(_statuses(db, group.id, status="pending")) == 2
        trainings.cancel(training)
        db.session.commit()
    assert _statuses(db, group.id, status="pending") == []
    assert {s for s, _ in _statuses(db, group.id)} == {"cancelled"}
