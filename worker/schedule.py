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
    "purge-ended-sessions": {
        "task": "worker.tasks.maintenance.purge_ended_sessions",
        "schedule": crontab(minute=37),  # hourly
    },
    # Hourly, because "02:00 on day 1" falls at a different UTC hour in each group's
    # timezone; the task picks the groups whose local time it is.
    "reports-monthly-fanout": {
        "task": "worker.tasks.reports.monthly_fanout",
        "schedule": crontab(minute=2),
        "options": {"queue": "reports"},
    },
    "purge-deleted-notes": {
        "task": "worker.tasks.maintenance.purge_deleted_notes",
        "schedule": crontab(minute=41, hour=3),  # daily
    },
    "purge-appointment-contacts": {
        "task": "worker.tasks.contacts.purge_appointment_contacts",
        "schedule": crontab(minute=23),  # hourly: values live at most an hour past their date
    },
    # Reminders: the database holds the schedule; this only looks for due rows. A dispatch
    # message older than one interval is dropped (the next one does the same work).
    "dispatch-due-reminders": {
        "task": "worker.tasks.reminders.dispatch_due",
        "schedule": float(os.environ.get("HARMNET_REMINDER_DISPATCH_SECONDS", "60")),
        "options": {"expires": float(os.environ.get("HARMNET_REMINDER_DISPATCH_SECONDS", "60"))},
    },
}


def configure_schedule(celery_app: Celery) -> None:
    celery_app.conf.beat_schedule = BEAT_SCHEDULE
