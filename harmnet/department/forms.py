"""Forms of the department workspace: targets, export code mapping, DHIS2 push, refresh."""

from __future__ import annotations

import re

from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import URL, InputRequired, Length, NumberRange, Optional, Regexp

from .. import indicators
from ..forms import BaseForm
from ..i18n import lazy_gettext as _l

CODE_RE = r"^[A-Za-z0-9_.\-]*$"
PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class RefreshForm(BaseForm):
    period = StringField(
        _l("Month (YYYY-MM)"),
        validators=[InputRequired(),
                    Regexp(PERIOD_RE.pattern, message=_l("Use the form 2024-05."))],
    )
    submit = SubmitField(_l("Recompute this month for every group"))


class Dhis2Form(BaseForm):
    url = StringField(
        _l("dataValueSets address"),
        validators=[Optional(), Length(max=300),
                    URL(require_tld=False, message=_l("Enter a full http:// or https:// address.")),
                    Regexp(r"^https?://", message=_l("Enter a full http:// or https:// address."))],
    )
    username = StringField(_l("User name"), validators=[Optional(), Length(max=100)])
    password = PasswordField(_l("Password (leave empty to keep the saved one)"),
                             validators=[Optional(), Length(max=200)])
    enabled = BooleanField(_l("Push each new snapshot"))
    level = SelectField(_l("Send"), choices=[
        ("group", _l("each group's figures, under the group's org unit")),
        ("department", _l("the department's totals, under the department's org unit"))],
        default="group")
    submit = SubmitField(_l("Save"))

    def validate_enabled(self, field):  # type: ignore[no-untyped-def]
        if field.data and not self.url.data:
            from wtforms.validators import ValidationError

            raise ValidationError(_l("An address is needed to push."))


def targets_form(values: dict[str, int]) -> type[BaseForm]:
    """A form with one optional whole-number field per indicator."""

    class TargetsForm(BaseForm):
        submit = SubmitField(_l("Save targets"))

    for indicator in indicators.CATALOGUE:
        setattr(TargetsForm, f"t_{indicator.code}", IntegerField(
            indicator.code, default=values.get(indicator.code),
            validators=[Optional(), NumberRange(min=0, max=10_000_000)]))
    return TargetsForm


def mapping_form(keys: dict[str, list[str]], codes) -> type[BaseForm]:  # type: ignore[no-untyped-def]
    """A form with one code field per mapping key, pre-filled with the current codes."""

    class MappingForm(BaseForm):
        submit = SubmitField(_l("Save codes"))

    MappingForm.field_keys = {}  # type: ignore[attr-defined]
    n = 0
    for kind, kind_keys in keys.items():
        for key in kind_keys:
            name = f"m{n}"
            n += 1
            MappingForm.field_keys[name] = (kind, key)  # type: ignore[attr-defined]
            setattr(MappingForm, name, StringField(
                key or kind, default=codes.get(kind, key),
                validators=[Optional(), Length(max=80),
                            Regexp(CODE_RE, message=_l("Letters, digits, _ . - only."))]))
    return MappingForm
