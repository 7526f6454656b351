"""Celery tasks. Each receives ids (group id first), never objects."""

from . import contacts, maintenance, reminders, reports  # noqa: F401
