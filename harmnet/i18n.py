"""Locale and timezone selection for Flask-Babel."""

from __future__ import annotations

from functools import cache

from babel import Locale
from flask import current_app, g, has_request_context, session
from flask_babel import get_locale, gettext
from flask_babel.speaklater import LazyString
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


class KeptLazyString(LazyString):
    """Flask-Babel's lazy string, keeping its text per language. Forms and code names hold
    hundreds of these, and each time one became text it resolved the context, the locale
    and its catalogue again (~20 µs; a tenth of a refused contact form's render). The
    text is what `gettext` gives for the locale of that moment, so a page in another
    language, or under `force_locale`, gets its own."""

    def __init__(self, string: str, **variables: object) -> None:
        super().__init__(gettext, string, **variables)
        self._texts: dict[Locale | None, str] = {}

    def __str__(self) -> str:
        locale = get_locale()
        text = self._texts.get(locale)
        if text is None:
            text = self._texts[locale] = str(self._func(*self._args, **self._kwargs))
        return text


def lazy_gettext(string: str, **variables: object) -> KeptLazyString:
    """`flask_babel.lazy_gettext`, kept per language (import it as `_l`, which
    `make translations-update` extracts)."""
    return KeptLazyString(string, **variables)
