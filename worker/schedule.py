"""The beat schedule: what runs periodically, and the queues tasks go to."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

BEAT_SCHEDULE: dict = {
    "purge-expired-invitations": {
        "task": "worker.tasks.maintenance.purge_expired_invitations",
        "schedule": crontab(minute=17),  # hourly
    },
    # Reminders: the database holds the schedule; this only looks for due rows. A dispatch
    # message older than one interval is dropped (the next one does the same work).
    "dispatch-due-reminders": {
        "task": "worker.tasks.reminders.dispatch_due",
        "schedule": float(os.environ.get("HARMNET_REMINDER_DISPATCH_SECONDS", "60")),
        "options": {"expires": float(os.environ.get("HARMNET_REMINDER_DISPATCH_SECONDS", "60"))},
    },
    "purge-appointment-contact-values": {
        "task": "worker.tasks.reminders.purge_contact_values",
        "schedule": crontab(minute=41),  # hourly
    },
}


def configure_schedule(celery_app: Celery) -> None:
    celery_app.conf.beat_schedule = BEAT_SCHEDULE
