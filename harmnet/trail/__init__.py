"""Reading the audit trail: a coordinator's page for the group, a department manager's for
the department, the admin's for the platform."""

from flask import Blueprint

from ..access import department_blueprint, group_blueprint

group_bp = group_blueprint("group_audit", __name__, "/audit")
department_bp = department_blueprint("department_audit", __name__, "/audit")
admin_bp = Blueprint("admin_audit", __name__, url_prefix="/admin/audit")

from . import routes  # noqa: E402,F401
