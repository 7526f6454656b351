"""Erasure at a client's request, and purging the notes of deleted contacts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from .. import tenancy
from ..extensions import db
from ..models import (
    Appointment,
    Client,
    Contact,
    OutboxMessage,
    PeerGroup,
    Referral,
    Reminder,
    ReportSnapshot,
    TestResult,
)
from ..models._types import utcnow
from . import audit

#: Deleted contacts keep their notes this long (for an undo), then lose them.
DELETED_NOTES_DAYS = 30


@dataclass
class Erased:
    client_id: int
    contacts: int
    appointments: int
    #: Months that had a published snapshot and change now: a new version is due for each.
    periods: list[str]


def erase_client(pseudonym: str, *, actor_id: int) -> Erased | None:
    """Forget a client in the current group: their notes, the contact values of their
    appointments (and pending reminders), and the link from the pseudonym. Their contacts
    and referrals stay as anonymous counts, so published totals of contacts still add up;
    person counts of the months they appear in change, which a new version says."""
    group_id = tenancy.require_group_id()
    client = db.session.scalar(select(Client).where(Client.pseudonym == pseudonym))
    if client is None:
        return None
    days = list(db.session.scalars(select(Contact.occurred_on).where(
        Contact.client_id == client.id)))
    referral_ids = list(db.session.scalars(select(Referral.id).where(
        Referral.client_id == client.id)))
    appointment_ids = list(db.session.scalars(select(Appointment.id).where(
        Appointment.referral_id.in_(referral_ids)))) if referral_ids else []
    if appointment_ids:
        db.session.execute(update(Appointment).where(Appointment.id.in_(appointment_ids))
                           .values(contact_value=None, reminder_consent=False,
                                   purge_after=utcnow()))
        reminder_ids = select(Reminder.id).where(Reminder.appointment_id.in_(appointment_ids))
        db.session.execute(update(OutboxMessage).where(OutboxMessage.reminder_id.in_(
            reminder_ids)).values(recipient=None, body=""))
        db.session.execute(update(Reminder).where(Reminder.appointment_id.in_(appointment_ids),
                                                  Reminder.status == "pending")
                           .values(status="cancelled"))
    db.session.execute(update(Referral).where(Referral.client_id == client.id)
                       .values(client_id=None))
    db.session.execute(update(TestResult).where(TestResult.client_id == client.id)
                       .values(client_id=None))
    db.session.execute(update(Contact).where(Contact.client_id == client.id)
                       .values(client_id=None, notes=""))
    client_id = client.id
    db.session.delete(client)
    db.session.flush()
    months = sorted({f"{d.year:04d}-{d.month:02d}" for d in days})
    published = sorted(db.session.scalars(
        select(ReportSnapshot.period).where(ReportSnapshot.group_id == group_id,
                                            ReportSnapshot.period.in_(months)).distinct()))
    audit.record("client.erased", "client", client_id, actor_id=actor_id,
                 contacts=len(days), appointments=len(appointment_ids), periods=published)
    return Erased(client_id, len(days), len(appointment_ids), published)


def purge_deleted_notes(now: datetime | None = None) -> int:
    """Empty the notes of contacts deleted more than DELETED_NOTES_DAYS ago, group by group
    (each under its own context); returns how many contacts lost their notes."""
    cutoff = (now or utcnow()) - timedelta(days=DELETED_NOTES_DAYS)
    purged = 0
    for group_id in db.session.scalars(select(PeerGroup.id)).all():
        with tenancy.group_context(group_id):
            result = db.session.execute(
                update(Contact)
                .where(Contact.deleted_at.is_not(None), Contact.deleted_at < cutoff,
                       Contact.notes != "")
                .values(notes=""))
            purged += result.rowcount or 0
    return purged
