"""Locale and timezone selection for Flask-Babel."""

from __future__ import annotations

from functools import cache

from babel import Locale
from flask import current_app, g, has_request_context, session
from flask_login import current_user


@cache
def _parsed(code: str) -> Locale:
    # Babel's parse looks for the locale's data file on disk (a stat call) every time,
    # and Flask-Babel parses what the selector returns on every request; a Locale it is
    # given is used as it is.
    return Locale.parse(code)


def select_locale() -> Locale:
    """The signed-in user's language, else the visitor's choice, else Vietnamese."""
    return _parsed(_language())


def _language() -> str:
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
