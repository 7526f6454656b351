"""A group's own view of its monthly report: the unsuppressed preview and what was sent."""

from ..access import group_blueprint

bp = group_blueprint("reports", __name__, "/reports")

from . import routes  # noqa: E402,F401
