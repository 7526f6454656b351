"""Trainings of a group: planning, invitations, roll call and calendar files."""

from ..access import group_blueprint

bp = group_blueprint("trainings", __name__, "/trainings")

from . import routes  # noqa: E402,F401
