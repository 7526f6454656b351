"""Dates, times and numbers as people read them: Babel's short forms in the person's language
and the group's time zone ("CN 06/12 09:00", "Sun 6 Dec, 09:00"), never seconds or offsets."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask
from flask_babel import format_date, format_datetime, format_decimal, get_locale, to_user_timezone

#: (this year, another year) patterns by language; English is the fallback.
WHEN = {"vi": ("EEE dd/MM HH:mm", "EEE dd/MM/yyyy HH:mm"),
        "en": ("EEE d MMM, HH:mm", "EEE d MMM yyyy, HH:mm")}
DAY = {"vi": ("EEE dd/MM", "dd/MM/yyyy"), "en": ("EEE d MMM", "d MMM yyyy")}


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None and locale.language in WHEN else "en"


def _this_year() -> int:
    return to_user_timezone(datetime.now().astimezone()).year


def when(value: datetime | None) -> str:
    """A moment, in the group's time zone: weekday, day, month, hour and minute (the year
    only when it is not this year)."""
    if value is None:
        return ""
    local = to_user_timezone(value)
    this, other = WHEN[_language()]
    return format_datetime(value, this if local.year == _this_year() else other)


def day(value: date | datetime | None) -> str:
    """A day: weekday, day and month this year; day, month and year another year."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_user_timezone(value).date()
    this, other = DAY[_language()]
    return format_date(value, this if value.year == _this_year() else other)


def clock(value: datetime | None) -> str:
    """The hour and minute of a moment, in the group's time zone."""
    return "" if value is None else format_datetime(value, "HH:mm")


def num(value: float | int | None) -> str:
    """A number with the language's grouping (1.234 in Vietnamese, 1,234 in English)."""
    return "" if value is None else format_decimal(value)


def install(app: Flask) -> None:
    for name, fn in (("when", when), ("day", day), ("clock", clock), ("num", num)):
        app.add_template_filter(fn, name)
