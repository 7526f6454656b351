"""The installable app: manifest, service worker (from the site root) and the queue's owner id."""

from __future__ import annotations

import hashlib
import hmac

from flask import Blueprint, current_app
from flask_login import current_user

bp = Blueprint("offline", __name__)


def queue_owner(user_id: int) -> str:
    """An opaque, stable id of a user that the phone binds its queue to (not the database
    id, so a queue entry names no one)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"offline-queue:{user_id}".encode(), hashlib.sha256).hexdigest()[:24]


@bp.app_context_processor
def _owner():  # type: ignore[no-untyped-def]
    return {"queue_owner": queue_owner(current_user.id)
            if current_user.is_authenticated else None}


from . import routes  # noqa: E402,F401
