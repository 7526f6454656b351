"""Contact-area housekeeping: erase appointment contact values after their retention."""

from __future__ import annotations

from celery import shared_task

from harmnet.extensions import db
from harmnet.services import appointments


@shared_task(name="worker.tasks.contacts.purge_appointment_contacts")
def purge_appointment_contacts() -> int:
    """Erase contact values past `purge_after` (appointment + retention days); returns how many."""
    try:
        erased = appointments.purge_contact_values()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return erased
