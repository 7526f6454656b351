"""A group's own pages: home and its logins (coordinators)."""

from ..access import group_blueprint

bp = group_blueprint("group", __name__)

from . import routes  # noqa: E402,F401
