"""Forms of the admin area."""

from __future__ import annotations

import re

from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from ..forms import BLANK, BaseForm, chosen, no_html
from ..i18n import lazy_gettext as _l

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")


def validate_code(form: object, field: object) -> None:
    if not CODE_RE.match((getattr(field, "data", "") or "").lower()):
        raise ValidationError(_l("Use 2 to 40 letters a-z, digits or dashes."))


KIND_CHOICES = [
    ("peer_group", _l("Peer group")),
    ("self_help_group", _l("Self-help group")),
    ("club", _l("Club")),
]


class DepartmentForm(BaseForm):
    code = StringField(_l("Code (used in addresses)"),
                       validators=[InputRequired(), Length(max=40), validate_code])
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200), no_html])
    parent = SelectField(_l("Parent department"), validators=[Optional()])
    submit = SubmitField(_l("Create department"))


#: The first month of a group's reporting year: its department's unless chosen.
YEAR_START_CHOICES = [("", _l("As its department"))] + [
    (str(n), _l("Month %(n)s", n=n)) for n in range(1, 13)]


class GroupForm(BaseForm):
    slug = StringField(_l("Short name (used in addresses)"),
                       validators=[InputRequired(), Length(max=60), validate_code])
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200), no_html])
    kind = SelectField(_l("Kind"), choices=[BLANK, *KIND_CHOICES], validators=[chosen()])
    department = SelectField(_l("Supervising department"), validators=[chosen()])
    area = StringField(_l("Area served"), validators=[Optional(), Length(max=200), no_html])
    year_start = SelectField(_l("Reporting year starts in"), choices=YEAR_START_CHOICES,
                             default="", validators=[Optional()])
    submit = SubmitField(_l("Create group"))


class CoordinatorInviteForm(BaseForm):
    group = SelectField(_l("Group"), validators=[chosen()])
    label = StringField(_l("Name to recognise them by"),
                        validators=[InputRequired(), Length(max=120), no_html])
    submit = SubmitField(_l("Create coordinator invitation"))
