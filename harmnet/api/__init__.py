"""The JSON door, /api/v1/: session-cookie auth with CSRF, problem+json errors, OpenAPI 3.1."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import routes  # noqa: E402,F401
