"""Celery tasks. Each receives ids (group id first), never objects."""

from . import maintenance, reminders  # noqa: F401
