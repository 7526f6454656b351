"""The department's workspace (aggregates only)."""

from ..access import department_blueprint

bp = department_blueprint("department", __name__)

from . import routes, stock  # noqa: E402,F401
