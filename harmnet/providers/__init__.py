"""The group's referral directory: providers, their services, address, hours and phone."""

from ..access import group_blueprint

bp = group_blueprint("providers", __name__, "/providers")

from . import routes  # noqa: E402,F401
