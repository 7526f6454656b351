"""Demo reminders: pending rows for upcoming appointments, and a few in the outbox, failed
and uncertain so the coordinator's Reminders page has something to show. Runs after the
contacts seed; does nothing when there are no appointments yet."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from .. import tenancy
from ..extensions import db
from ..models import Appointment, OutboxMessage, Reminder
from ..models._types import utcnow
from ..services import reminders
from ..services.reminder_text import group_templates, render
from .core import group as find_group

#: (status, reason, key suffix) of the demo rows beside the real pending ones.
DEMO = [
    ("sent", None, "sent"),
    ("failed", "http_400:invalid_number", "failed"),
    ("uncertain", "worker_lost", "uncertain"),
]


def seed(password: str) -> None:
    now = utcnow()
    for slug in ("hoa-sen", "song-hong"):
        group = find_group(slug)
        with tenancy.group_context(group.id):
            appointments = list(db.session.scalars(
                select(Appointment).order_by(Appointment.scheduled_at.desc()).limit(50)))
            if not appointments:
                continue  # the contacts seed has not run (or made none)
            for appointment in appointments:
                if appointment.scheduled_at > now:
                    reminders.sync_appointment_reminders(appointment, now=now)
            if db.session.scalar(select(Reminder.id).where(
                    Reminder.idempotency_key.like("demo:%")).limit(1)) is not None:
                continue
            # The demo's sent, failed and uncertain rows belong to appointments whose reminder
            # time has passed: a message is never shown as handed over in the future.
            due = [a for a in appointments if a.scheduled_at - timedelta(hours=2) <= now]
            for (status, reason, suffix), appointment in zip(DEMO, due, strict=False):
                sent_at = appointment.scheduled_at - timedelta(hours=2)
                row = Reminder(
                    group_id=group.id, appointment_id=appointment.id, send_at=sent_at,
                    channel="sms", status=status, attempts=1, last_error=reason,
                    idempotency_key=f"demo:{appointment.id}:{suffix}", locale=group.locale,
                    claimed_at=sent_at, handed_at=sent_at,
                    sent_at=sent_at if status == "sent" else None,
                )
                db.session.add(row)
                db.session.flush()
                if status == "sent":
                    body = render(group_templates(group.settings)["appointment"]["vi"],
                                  at=appointment.scheduled_at, tz=group.timezone,
                                  locale="vi", place=None, group_name=group.name)
                    message = OutboxMessage(group_id=group.id, reminder_id=row.id,
                                            recipient="+84901000111", body=body,
                                            created_at=sent_at)
                    db.session.add(message)
                    db.session.flush()
                    row.provider_message_id = f"outbox:{message.id}"
            db.session.flush()
