"""Commodity stock of a group: the cards, receipts, counts and adjustments (coordinators)."""

from ..access import group_blueprint

bp = group_blueprint("stock", __name__, "/stock")

from . import routes  # noqa: E402,F401
