"""Account care: reset links handed over in person, joining a group with an existing login,
two-step sign-in. Its own blueprints, so the sign-in code stays as it is."""

from flask import Blueprint

from ..access import department_blueprint, group_blueprint

#: Pages of anyone (reset links, joining, two-step sign-in and its set-up).
bp = Blueprint("credentials", __name__)
#: A coordinator's reset links for the group's logins: /g/<slug>/logins/...
group_bp = group_blueprint("group_credentials", __name__, "/logins")
#: A department manager's staff and their reset links: /d/<code>/staff/...
department_bp = department_blueprint("department_credentials", __name__, "/staff")
#: The platform admin's coordinators and their reset links.
admin_bp = Blueprint("admin_credentials", __name__, url_prefix="/admin/accounts")

from . import routes, two_step  # noqa: E402,F401
