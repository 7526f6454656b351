"""Forms of the trainings area."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from wtforms import StringField
from wtforms.validators import Optional, ValidationError

from ..forms import BaseForm, chosen, no_html
from ..i18n import lazy_gettext as _l
from ..members.forms import (
    Choice,
    Choices,
    DateInput,
    NumberInput,
    TimeInput,
    between,
    max_length,
    options,
    required,
    role_choices,
    status_choices,
)
from ..members.labels import TOPIC_NAMES
from ..models.members import TRAINING_TOPICS
from ..services.trainings import MAX_CAPACITY, MAX_DURATION

EARLIEST = date(2000, 1, 1)


def training_date(form: object, field: DateInput) -> None:
    latest = date.today() + timedelta(days=2 * 366)
    if field.data is not None and not EARLIEST <= field.data <= latest:
        raise ValidationError(_("Please enter a date from %(low)s to %(high)s.",
                                low=EARLIEST.isoformat(), high=latest.isoformat()))


class TrainingForm(BaseForm):
    topic = Choice(_l("Topic"), choices=options({"": "—", **{c: TOPIC_NAMES[c]
                                                               for c in TRAINING_TOPICS}}),
                   validators=[chosen()])
    title = StringField(_l("Title"), validators=[required(), max_length(200), no_html])
    day = DateInput(_l("Date"), validators=[required(), training_date])
    at = TimeInput(_l("Start time"), format="%H:%M", validators=[required()])
    duration_minutes = NumberInput(_l("Duration (minutes)"), default=120,
                                   validators=[required(), between(1, MAX_DURATION)])
    location = StringField(_l("Place"), validators=[Optional(), max_length(200), no_html])
    facilitator = StringField(_l("Facilitator"),
                              validators=[Optional(), max_length(120), no_html])
    capacity = NumberInput(_l("Places (leave empty for no limit)"),
                           validators=[Optional(), between(1, MAX_CAPACITY)])


class InviteGroupForm(BaseForm):
    """Invite every member with one of the chosen roles and statuses."""

    # Peer educators are whom most trainings are for: "invite them all" works as it opens.
    roles = Choices(_l("Roles"), choices=role_choices(), default=["peer_educator"],
                    validators=[required()])
    statuses = Choices(_l("Status"), choices=status_choices(), default=["active"],
                       validators=[required()])


class PlainForm(BaseForm):
    """CSRF only: the pick list, roll call, cancel and withdraw buttons read their own fields."""
