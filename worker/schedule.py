"""The beat schedule: what runs periodically, and the queues tasks go to."""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab

BEAT_SCHEDULE: dict = {
    "purge-expired-invitations": {
        "task": "worker.tasks.maintenance.purge_expired_invitations",
        "schedule": crontab(minute=17),  # hourly
    },
}


def configure_schedule(celery_app: Celery) -> None:
    celery_app.conf.beat_schedule = BEAT_SCHEDULE
