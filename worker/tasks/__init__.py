"""Celery tasks. Each receives ids (group id first), never objects."""

from . import contacts, maintenance, reports  # noqa: F401
