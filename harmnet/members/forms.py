"""Forms of the members area, and fields with messages in the user's language."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import BaseForm, chosen, no_html
from ..i18n import lazy_gettext as _l
from ..models.members import MEMBER_ROLES, MEMBER_STATUSES
from ..services.members import normalise_phone
from .labels import GENDER_NAMES, MEMBER_ROLE_NAMES, MEMBER_STATUS_NAMES

MIN_DATE = date(1990, 1, 1)


def required() -> InputRequired:
    return InputRequired(message=_l("Please fill in this field."))


def max_length(n: int) -> Length:
    return Length(max=n, message=_l("Please use at most %(max)d characters."))


# wtforms has no Vietnamese catalogue: these fields say what is wrong in our own words.


class DateInput(DateField):
    def process_formdata(self, valuelist):  # type: ignore[no-untyped-def]
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_("Please enter a date, for example 2024-05-31.")) from None


class TimeInput(TimeField):
    def process_formdata(self, valuelist):  # type: ignore[no-untyped-def]
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_("Please enter a time, for example 14:30.")) from None


class NumberInput(IntegerField):
    def process_formdata(self, valuelist):  # type: ignore[no-untyped-def]
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_("Please enter a whole number.")) from None
        if self.data is not None and abs(self.data) > 10**9:
            self.data = None
            raise ValueError(_("Please enter a whole number."))


class Choice(SelectField):
    def pre_validate(self, form):  # type: ignore[no-untyped-def]
        try:
            super().pre_validate(form)
        except ValidationError:
            raise ValidationError(_("Please choose one of the options.")) from None


class Choices(SelectMultipleField):
    widget = ListWidget(prefix_label=False)  #: shown as check boxes
    option_widget = CheckboxInput()

    def pre_validate(self, form):  # type: ignore[no-untyped-def]
        try:
            super().pre_validate(form)
        except ValidationError:
            raise ValidationError(_("Please choose among the options.")) from None


class Radio(RadioField):
    def pre_validate(self, form):  # type: ignore[no-untyped-def]
        try:
            super().pre_validate(form)
        except ValidationError:
            raise ValidationError(_("Please choose one of the options.")) from None


def between(low: int, high: int):  # type: ignore[no-untyped-def]
    def check(form: object, field: IntegerField) -> None:
        if field.data is not None and not low <= field.data <= high:
            raise ValidationError(_("Please enter a number from %(low)s to %(high)s.",
                                    low=low, high=high))

    return check


def date_not_future(form: object, field: DateField) -> None:
    if field.data is not None and not MIN_DATE <= field.data <= date.today():
        raise ValidationError(_("Please enter a date from %(low)s to today.",
                                low=MIN_DATE.isoformat()))


def phone_number(form: object, field: StringField) -> None:
    if field.data and normalise_phone(field.data) is None:
        raise ValidationError(_("Please enter a phone number of 8 to 15 digits, "
                                "for example 0912 345 678."))


def options(mapping: dict) -> list[SelectChoice]:
    """Choices from {value: (lazy) label}."""
    return [SelectChoice(value=value, label=label) for value, label in mapping.items()]


def role_choices() -> list[SelectChoice]:
    return options({code: MEMBER_ROLE_NAMES[code] for code in MEMBER_ROLES})


def status_choices() -> list[SelectChoice]:
    return options({code: MEMBER_STATUS_NAMES[code] for code in MEMBER_STATUSES})


class MemberForm(BaseForm):
    alias = StringField(_l("Alias"), validators=[required(), max_length(80), no_html])
    role_in_group = Choice(_l("Role in the group"), choices=role_choices(),
                           validators=[required()])
    joined_on = DateInput(_l("Joined on"), validators=[Optional(), date_not_future])
    gender = Choice(_l("Gender"), choices=options({"": _l("—"), **GENDER_NAMES}),
                    validators=[Optional()])
    birth_year = NumberInput(_l("Year of birth"),
                             validators=[Optional(), between(1930, date.today().year - 12)])
    phone = StringField(_l("Phone"), validators=[Optional(), max_length(30), phone_number])
    remove_phone = BooleanField(_l("Remove the phone number"))
    reminder_consent = BooleanField(_l("Agrees to receive training reminders by SMS"))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), max_length(2000)])

    def validate_reminder_consent(self, field: BooleanField) -> None:
        has_phone = bool(self.phone.data) or getattr(self, "_has_phone", False)
        if field.data and (not has_phone or self.remove_phone.data):
            raise ValidationError(_("Reminders need a phone number."))


class NewMemberForm(MemberForm):
    status = Choice(_l("Status"), choices=status_choices(), default="active",
                    validators=[required()])


class StatusForm(BaseForm):
    status = Choice(_l("New status"), choices=[SelectChoice(value="", label="—"),
                                                *status_choices()], validators=[chosen()])
    on = DateInput(_l("As of"), validators=[required(), date_not_future], default=date.today)


class ConfirmForm(BaseForm):
    """A bare POST button (show phone): CSRF only."""


class LinkLoginForm(BaseForm):
    role = Choice(_l("Role of the login"),
                  choices=options({"peer_educator": _l("Peer educator"),
                                   "coordinator": _l("Coordinator")}),
                  default="peer_educator", validators=[required()])


class ImportForm(BaseForm):
    file = FileField(_l("File (CSV or Excel .xlsx)"),
                     validators=[FileRequired(message=_l("Please choose a file."))])


class ConfirmImportForm(BaseForm):
    token = HiddenField(validators=[required()])
    skip_duplicates = BooleanField(_l("Skip the rows flagged as likely duplicates"),
                                   default=True)


class ExportForm(BaseForm):
    format = Radio(_l("Format"), choices=options({"csv": "CSV", "xlsx": "Excel (.xlsx)"}),
                   default="csv", validators=[required()])
    status = Choice(_l("Members"),
                    choices=[SelectChoice(value="", label=_l("All")), *status_choices()],
                    validators=[Optional()])
    include_phone = BooleanField(_l("Include phone numbers"))
