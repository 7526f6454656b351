"""Forms of the group area."""

from __future__ import annotations

from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, Length

from ..forms import BaseForm, no_html
from ..i18n import lazy_gettext as _l

ROLE_CHOICES = [("peer_educator", _l("Peer educator")), ("coordinator", _l("Coordinator"))]


class InviteForm(BaseForm):
    label = StringField(
        _l("Name to recognise them by (an alias is fine)"),
        validators=[InputRequired(), Length(max=120), no_html],
    )
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[InputRequired()])
    submit = SubmitField(_l("Create invitation link"))


class RoleForm(BaseForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[InputRequired()])
    submit = SubmitField(_l("Change role"))


class ConfirmForm(BaseForm):
    """A bare POST button (deactivate, reactivate, revoke): CSRF only."""

    submit = SubmitField(_l("Confirm"))
