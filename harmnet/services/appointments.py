"""Appointments: every write to an appointment goes through this module.

Reminder rows (issue 5) are synchronised here, in the same transaction as the appointment
change: see the `_sync_reminders` hook called by create, reschedule, cancel and mark.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, update

from .. import tenancy
from ..extensions import db
from ..models import Appointment, OutboxMessage, PeerGroup, Referral, Reminder
from ..models._types import utcnow
from ..models.contacts import REMINDER_CHANNELS
from . import audit


class AppointmentError(ValueError):
    """A rule was broken; `code` says which (the caller translates it)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def as_utc(value: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite hands them back naive)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _group(group_id: int) -> PeerGroup:
    group = db.session.get(PeerGroup, group_id)
    assert group is not None
    return group


def purge_after_for(group_id: int, scheduled_at: datetime) -> datetime:
    """When an appointment's contact value is erased: after it, plus the retention days."""
    return scheduled_at + timedelta(days=int(_group(group_id).setting("retention_days")))


def _sync_reminders(appointment: Appointment, event: str) -> None:
    """Reminder rows follow the appointment, in the same transaction.

    `event` is "created", "rescheduled", "cancelled" or "closed" (attended / missed); the
    sync reads the appointment's state itself, so every event takes the same path.
    """
    from . import reminders

    reminders.sync_appointment_reminders(appointment)


def get_appointment(appointment_id: int) -> Appointment | None:
    return db.session.scalar(select(Appointment).where(Appointment.id == appointment_id))


def create_appointment(group_id: int, referral_id: int, scheduled_at: datetime, *,
                       reminder_consent: bool = False, channel: str | None = None,
                       contact_value: str | None = None, actor_id: int | None = None,
                       now: datetime | None = None) -> Appointment:
    """Book an appointment for a referral; the referral becomes `booked`.

    A contact value is kept only with consent to reminders, and only until the
    appointment plus the group's retention days.
    """
    now = now or utcnow()
    if scheduled_at <= now:
        raise AppointmentError("in_past")
    referral = db.session.scalar(select(Referral).where(Referral.id == referral_id))
    if referral is None:
        raise AppointmentError("unknown_referral")
    if reminder_consent:
        if channel not in REMINDER_CHANNELS:
            raise AppointmentError("channel_needed")
        if not contact_value and channel != "outbox":
            raise AppointmentError("contact_value_needed")
    else:
        channel, contact_value = None, None
    appointment = Appointment(
        group_id=group_id, referral_id=referral.id, provider_id=referral.provider_id,
        scheduled_at=scheduled_at, status="scheduled", reminder_consent=reminder_consent,
        channel=channel, contact_value=contact_value or None,
        purge_after=purge_after_for(group_id, scheduled_at),
    )
    db.session.add(appointment)
    if referral.status == "referred":
        referral.status = "booked"
    db.session.flush()
    _sync_reminders(appointment, "created")
    audit.record("appointment.created", "appointment", appointment.id, actor_id=actor_id,
                 referral_id=referral.id, reminders=reminder_consent)
    return appointment


def _open(appointment_id: int) -> Appointment:
    appointment = get_appointment(appointment_id)
    if appointment is None:
        raise AppointmentError("unknown_appointment")
    return appointment


def reschedule_appointment(appointment_id: int, scheduled_at: datetime, *,
                           actor_id: int | None = None,
                           now: datetime | None = None) -> Appointment:
    """Move an appointment (scheduled or missed) to a new time in the future."""
    now = now or utcnow()
    appointment = _open(appointment_id)
    if appointment.status not in ("scheduled", "missed"):
        raise AppointmentError("not_open")
    if scheduled_at <= now:
        raise AppointmentError("in_past")
    appointment.scheduled_at = scheduled_at
    appointment.status = "scheduled"
    appointment.purge_after = purge_after_for(appointment.group_id, scheduled_at)
    db.session.flush()
    _sync_reminders(appointment, "rescheduled")
    audit.record("appointment.rescheduled", "appointment", appointment.id, actor_id=actor_id)
    return appointment


def _referral_after_close(appointment: Appointment) -> Referral | None:
    return db.session.scalar(select(Referral).where(Referral.id == appointment.referral_id))


def cancel_appointment(appointment_id: int, *, actor_id: int | None = None) -> Appointment:
    """Cancel an appointment; its contact value is erased at once (no longer needed).

    The referral goes back to `referred` unless another appointment is still scheduled.
    """
    appointment = _open(appointment_id)
    if appointment.status not in ("scheduled", "missed"):
        raise AppointmentError("not_open")
    appointment.status = "cancelled"
    appointment.contact_value = None
    appointment.purge_after = utcnow()
    db.session.flush()
    referral = _referral_after_close(appointment)
    if referral is not None and referral.status == "booked":
        others = db.session.scalar(
            select(Appointment.id).where(
                Appointment.referral_id == referral.id,
                Appointment.status == "scheduled",
            ).limit(1)
        )
        if others is None:
            referral.status = "referred"
    db.session.flush()
    _sync_reminders(appointment, "cancelled")
    # The outbox's copy of the number goes with the appointment's own: nobody passes on a
    # reminder of an appointment that will not happen.
    db.session.execute(update(OutboxMessage).where(OutboxMessage.reminder_id.in_(
        select(Reminder.id).where(Reminder.appointment_id == appointment.id)))
        .values(recipient=None))
    audit.record("appointment.cancelled", "appointment", appointment.id, actor_id=actor_id)
    return appointment


def mark_appointment(appointment_id: int, status: str, *, attended_on: date | None = None,
                     actor_id: int | None = None, now: datetime | None = None) -> Appointment:
    """Mark an appointment attended or missed; attended completes the referral."""
    now = now or utcnow()
    if status not in ("attended", "missed"):
        raise AppointmentError("unknown_status")
    appointment = _open(appointment_id)
    if appointment.status not in ("scheduled", "missed", "attended"):
        raise AppointmentError("not_open")
    if as_utc(appointment.scheduled_at) > now + timedelta(hours=12):
        raise AppointmentError("not_yet")  # cannot have been kept or missed yet
    appointment.status = status
    referral = _referral_after_close(appointment)
    if (referral is not None and status == "attended"
            and referral.status in ("referred", "booked")):
        referral.status = "completed"
        referral.completed_on = attended_on or now.date()
    db.session.flush()
    _sync_reminders(appointment, "closed")
    audit.record(f"appointment.{status}", "appointment", appointment.id, actor_id=actor_id)
    return appointment


def purge_contact_values(now: datetime | None = None) -> int:
    """Erase appointment contact values whose purge time has passed, group by group.

    Runs in the worker; each group's rows are updated under that group's context, so the
    ORM filter and row-level security hold as in a request. Pending reminders of an erased
    value are cancelled with it (reminders.purge_contact_values does both).
    """
    from . import reminders

    now = now or utcnow()
    erased = 0
    for group_id in db.session.scalars(select(PeerGroup.id).order_by(PeerGroup.id)).all():
        with tenancy.group_context(group_id):
            erased += reminders.purge_contact_values(now)
    return erased
