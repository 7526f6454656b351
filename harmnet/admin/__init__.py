"""Platform admin pages: departments, groups, first coordinators. No group data."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import routes  # noqa: E402,F401
