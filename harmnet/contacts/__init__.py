"""Service contacts: the phone entry page, my contacts, follow-ups, referrals, appointments."""

from ..access import group_blueprint

bp = group_blueprint("contacts", __name__, "/contacts")

from . import results, routes  # noqa: E402,F401
