"""Forms of the reminders area."""

from __future__ import annotations

import re

from wtforms import HiddenField, IntegerField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, ValidationError

from ..forms import BaseForm
from ..i18n import lazy_gettext as _l
from ..services.reminder_text import MAX_TEMPLATE_LENGTH, template_problem
from ..services.reminders import MAX_LEAD_HOURS, MAX_LEADS, MIN_LEAD_HOURS

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def template_message(code: str, detail: str) -> str:
    """The message shown for a refused template (also used by the send-time check)."""
    from flask_babel import gettext as _

    messages = {
        "sensitive_word": lambda: _(
            "“%(word)s” could expose the person who reads this message. "
            "Please use neutral words.", word=detail),
        "unknown_placeholder": lambda: _(
            "%(name)s is not a placeholder. Use {time}, {place} or {group}.", name=detail),
        "missing_time": lambda: _("The text must contain {time}."),
        "bad_braces": lambda: _("Curly braces are only for placeholders such as {time}."),
        "too_long": lambda: _("At most %(n)s characters.", n=MAX_TEMPLATE_LENGTH),
        "empty": lambda: _("Please write a text."),
    }
    return messages[code]()


def discreet_template(form: object, field: object) -> None:
    problem = template_problem(getattr(field, "data", "") or "")
    if problem is not None:
        raise ValidationError(template_message(problem.code, problem.detail))


def lead_hours_list(form: object, field: object) -> None:
    parts = [p.strip() for p in (getattr(field, "data", "") or "").split(",") if p.strip()]
    try:
        hours = [int(p) for p in parts]
    except ValueError:
        hours = []
    if (not hours or len(hours) > MAX_LEADS or len(set(hours)) != len(hours)
            or any(not MIN_LEAD_HOURS <= h <= MAX_LEAD_HOURS for h in hours)):
        raise ValidationError(_l(
            "Write one to four different whole numbers of hours from 1 to 168, "
            "separated by commas, for example: 24, 2"))
    field.parsed = hours  # type: ignore[attr-defined]


def clock_time(form: object, field: object) -> None:
    if not _HHMM.match(getattr(field, "data", "") or ""):
        raise ValidationError(_l("Write a time as HH:MM, for example 21:00."))


class SettingsForm(BaseForm):
    lead_hours = StringField(_l("Send reminders this many hours before"),
                             validators=[InputRequired(), lead_hours_list])
    quiet_start = StringField(_l("Quiet hours start"), validators=[InputRequired(), clock_time])
    quiet_end = StringField(_l("Quiet hours end"), validators=[InputRequired(), clock_time])
    daily_sms_cap = IntegerField(_l("Most SMS per day"),
                                 validators=[InputRequired(), NumberRange(1, 100000)])
    appointment_vi = TextAreaField(_l("Appointment reminder, Vietnamese"),
                                   validators=[InputRequired(), discreet_template])
    appointment_en = TextAreaField(_l("Appointment reminder, English"),
                                   validators=[InputRequired(), discreet_template])
    training_vi = TextAreaField(_l("Training reminder, Vietnamese"),
                                validators=[InputRequired(), discreet_template])
    training_en = TextAreaField(_l("Training reminder, English"),
                                validators=[InputRequired(), discreet_template])
    submit = SubmitField(_l("Save settings"))


class RetryForm(BaseForm):
    """The retry button: CSRF only."""

    submit = SubmitField(_l("Send again"))


class OutcomeForm(BaseForm):
    """The outbox's buttons (show the recipient, passed on, could not reach): CSRF, and
    which outcome (checked against OUTBOX_OUTCOMES by the route)."""

    outcome = HiddenField()
