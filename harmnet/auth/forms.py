"""Forms of the auth area."""

from __future__ import annotations

import re

from wtforms import BooleanField, HiddenField, PasswordField, RadioField, StringField, SubmitField
from wtforms.validators import EqualTo, InputRequired, Length, ValidationError

from ..forms import BaseForm, no_html
from ..i18n import lazy_gettext as _l
from ..security import MAX_PASSWORD_LENGTH, password_problem

LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,59}$")

# Password managers and phone keyboards fill (and suggest) the right thing.
USERNAME = {"autocomplete": "username"}
CURRENT_PASSWORD = {"autocomplete": "current-password"}
NEW_PASSWORD = {"autocomplete": "new-password"}

PASSWORD_MESSAGES = {
    "too_short": _l("The password must have at least 10 characters."),
    "too_long": _l("The password is too long (at most 128 characters)."),
    "too_common": _l("This password is too common. Please choose another."),
    "same_as_login": _l("The password must not be the same as the login name."),
}


def validate_login_name(form: object, field: object) -> None:
    value = (getattr(field, "data", "") or "").lower()
    if not LOGIN_RE.match(value):
        raise ValidationError(
            _l("Use 3 to 60 letters a-z, digits, dots, dashes or underscores.")
        )


class StrongPassword:
    """The password rules: length, not among the 3,000 most common, not the login."""

    def __init__(self, login_field: str | None = None) -> None:
        self.login_field = login_field

    def __call__(self, form: object, field: object) -> None:
        login = None
        if self.login_field:
            login = getattr(form, self.login_field).data
        problem = password_problem(getattr(field, "data", "") or "", login)
        if problem:
            raise ValidationError(PASSWORD_MESSAGES[problem])


class LoginForm(BaseForm):
    login = StringField(_l("Login name"), validators=[InputRequired(), Length(max=60)],
                        render_kw=USERNAME)
    password = PasswordField(
        _l("Password"), validators=[InputRequired(), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw=CURRENT_PASSWORD,
    )
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(
        _l("Current password"), validators=[InputRequired(), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw=CURRENT_PASSWORD,
    )
    new_password = PasswordField(_l("New password"), validators=[InputRequired(), StrongPassword()],
                                 render_kw=NEW_PASSWORD)
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[InputRequired(), EqualTo("new_password", _l("The two passwords differ."))],
        render_kw=NEW_PASSWORD,
    )
    submit = SubmitField(_l("Change password"))


class AccountForm(BaseForm):
    display_name = StringField(
        _l("Your name as others see it"), validators=[InputRequired(), Length(max=120), no_html]
    )
    locale = RadioField(
        _l("Language"), choices=[("vi", "Tiếng Việt"), ("en", "English")],
        validators=[InputRequired()],
    )
    submit = SubmitField(_l("Save"))


class SignOutEverywhereForm(BaseForm):
    confirm = BooleanField(_l("Yes, sign me out on every device"), validators=[InputRequired()])
    submit = SubmitField(_l("Sign out everywhere"))


class AcceptInvitationForm(BaseForm):
    display_name = StringField(
        _l("Your name as others see it (an alias is fine)"),
        validators=[InputRequired(), Length(max=120), no_html],
    )
    login = StringField(
        _l("Choose a login name"),
        validators=[InputRequired(), Length(max=60), validate_login_name],
        render_kw={**USERNAME, "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Choose a password"), validators=[InputRequired(), StrongPassword("login")],
        render_kw=NEW_PASSWORD,
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[InputRequired(), EqualTo("password", _l("The two passwords differ."))],
        render_kw=NEW_PASSWORD,
    )
    submit = SubmitField(_l("Create my login"))


class EndSessionForm(BaseForm):
    """"Sign out this device" on one line of the session list (no field but CSRF)."""


class LogoutForm(BaseForm):
    submit = SubmitField(_l("Sign out"))
