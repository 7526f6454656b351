"""Forms of account care: choosing a new password, joining, two-step codes."""

from __future__ import annotations

from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import EqualTo, InputRequired, Length

from ..auth.forms import NEW_PASSWORD, StrongPassword
from ..forms import BaseForm
from ..i18n import lazy_gettext as _l


class NewPasswordForm(BaseForm):
    password = PasswordField(_l("New password"), validators=[InputRequired(), StrongPassword()],
                             render_kw=NEW_PASSWORD)
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[InputRequired(), EqualTo("password", _l("The two passwords differ."))],
        render_kw=NEW_PASSWORD,
    )
    submit = SubmitField(_l("Set the new password"))


class ButtonForm(BaseForm):
    """A bare POST button: CSRF only."""

    submit = SubmitField(_l("Confirm"))


CODE = {"autocomplete": "one-time-code", "inputmode": "numeric", "autocapitalize": "none",
        "spellcheck": "false"}


class CodeForm(BaseForm):
    code = StringField(_l("Code"), validators=[InputRequired(), Length(max=40)], render_kw=CODE)
    remember = BooleanField(_l("Remember this device for 30 days"), default=False)
    submit = SubmitField(_l("Continue"))


class EnrolForm(BaseForm):
    code = StringField(_l("The 6-digit code your app shows"),
                       validators=[InputRequired(), Length(max=12)], render_kw=CODE)
    submit = SubmitField(_l("Turn on two-step sign-in"))


class DisableForm(BaseForm):
    code = StringField(_l("A code from your app, or a recovery code"),
                       validators=[InputRequired(), Length(max=40)], render_kw=CODE)
    submit = SubmitField(_l("Turn off two-step sign-in"))
