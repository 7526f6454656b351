"""Locale and timezone selection for Flask-Babel."""

from __future__ import annotations

from flask import current_app, g, has_request_context, session
from flask_babel import lazy_gettext
from flask_login import current_user

# Modules import `lazy_gettext as _l` from here: the name `make translations-update` extracts.
__all__ = ["lazy_gettext", "select_locale", "select_timezone"]


def select_locale() -> str:
    """The signed-in user's language, else the visitor's choice, else Vietnamese."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return g.get("locale_override") or current_app.config["BABEL_DEFAULT_LOCALE"]
    if g.get("locale_override") in languages:
        return g.locale_override
    if current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    """The current group's timezone, else the platform default."""
    group = g.get("group")
    if group is not None:
        return group.timezone
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]
