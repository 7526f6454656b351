"""Members of a group: list, profiles, status, phones, import and export (coordinators)."""

from ..access import group_blueprint

bp = group_blueprint("members", __name__, "/members")

from . import routes  # noqa: E402,F401
