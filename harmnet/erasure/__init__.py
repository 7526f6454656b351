"""Erasure at a client's request (coordinators): /g/<slug>/clients/erase."""

from ..access import group_blueprint

bp = group_blueprint("erasure", __name__, "/clients")

from . import routes  # noqa: E402,F401
