"""Celery tasks. Each receives ids (group id first), never objects."""

from . import maintenance, reports  # noqa: F401
