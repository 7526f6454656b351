"""Coordinator pages of reminders: problems with a retry button, the outbox, settings."""

from ..access import group_blueprint

bp = group_blueprint("reminders", __name__, "/reminders")

from . import routes  # noqa: E402,F401
