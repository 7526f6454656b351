"""Forms of the contact area: the phone entry form, edits, referrals, appointments, filters.

Every message is our own translated string (WTForms ships no Vietnamese catalogue), and
fields parse leniently then validate, so bad input is a 400 with a message, never a 500.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .. import clientcode
from ..forms import BaseForm
from ..i18n import lazy_gettext as _l
from ..models.contacts import AGE_BANDS, CHANNELS, COUNSELLING_TOPICS, SERVICES
from ..services.contacts import (
    DELETE_REASONS,
    AppointmentInput,
    ContactInput,
    ReferralInput,
)
from . import labels

NOTES_MAX = 500
COUNT_MAX = 1000
PARTICIPANTS_MAX = 500
EARLIEST = date(2010, 1, 1)
REFERRAL_SLOTS = 3
PHONE_RE = re.compile(r"^\+?[0-9 ().-]{8,20}$")
EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def maxlen(n: int) -> Length:
    return Length(max=n, message=_l("Please use at most %(max)d characters."))


def add_error(field, message) -> None:  # type: ignore[no-untyped-def]
    field.errors = [*field.errors, message]


# --- lenient fields -----------------------------------------------------------------------


class CountField(IntegerField):
    """A whole number 0..COUNT_MAX; empty means 0."""

    def __init__(self, label=None, validators=None, maximum: int = COUNT_MAX, **kw):  # type: ignore[no-untyped-def]
        super().__init__(label, validators, **kw)
        self.maximum = maximum

    def process_formdata(self, valuelist):  # type: ignore[no-untyped-def]
        raw = (valuelist[0] if valuelist else "").strip()
        if raw == "":
            self.data = None
            return
        try:
            self.data = int(raw)
        except ValueError:
            self.data = None
            raise ValueError(_l("Please enter a whole number.")) from None

    def pre_validate(self, form):  # type: ignore[no-untyped-def]
        if self.data is not None and self.data < 0:
            raise ValidationError(_l("A count cannot be negative."))
        if self.data is not None and self.data > self.maximum:
            raise ValidationError(_l("Please enter at most %(n)s.", n=self.maximum))


class LenientDateField(DateField):
    def process_formdata(self, valuelist):  # type: ignore[no-untyped-def]
        raw = " ".join(valuelist).strip() if valuelist else ""
        if not raw:
            self.data = None
            return
        try:
            self.data = datetime.strptime(raw, "%Y-%m-%d").date()
        except ValueError:
            self.data = None
            raise ValueError(_l("Please enter a date (day, month, year).")) from None


class LenientTimeField(TimeField):
    def process_formdata(self, valuelist):  # type: ignore[no-untyped-def]
        raw = " ".join(valuelist).strip() if valuelist else ""
        if not raw:
            self.data = None
            return
        for fmt in ("%H:%M", "%H:%M:%S"):
            try:
                self.data = datetime.strptime(raw, fmt).time()
                return
            except ValueError:
                continue
        self.data = None
        raise ValueError(_l("Please enter a time like 14:30."))


class CodeSelectField(SelectField):
    """A select whose unknown values are our own translated error, not WTForms'."""

    def __init__(self, label=None, validators=None, **kw):  # type: ignore[no-untyped-def]
        kw.setdefault("validate_choice", False)
        super().__init__(label, validators, **kw)

    def pre_validate(self, form):  # type: ignore[no-untyped-def]
        if self.data not in (None, "") and self.data not in {str(v) for v, _ in self.choices}:
            raise ValidationError(_l("Please choose from the list."))


class CodeRadioField(RadioField):
    def __init__(self, label=None, validators=None, **kw):  # type: ignore[no-untyped-def]
        kw.setdefault("validate_choice", False)
        super().__init__(label, validators, **kw)

    def pre_validate(self, form):  # type: ignore[no-untyped-def]
        if self.data not in (None, "") and self.data not in {v for v, _ in self.choices}:
            raise ValidationError(_l("Please choose from the list."))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label=None, validators=None, **kw):  # type: ignore[no-untyped-def]
        kw.setdefault("validate_choice", False)
        super().__init__(label, validators, **kw)

    def pre_validate(self, form):  # type: ignore[no-untyped-def]
        allowed = {v for v, _ in self.choices}
        if any(v not in allowed for v in self.data or []):
            raise ValidationError(_l("Please choose from the list."))


class SubForm(Form):
    """A nested form with the same text cleaning as BaseForm (and no CSRF of its own)."""

    class Meta:
        bind_field = BaseForm.Meta.bind_field


def local_to_utc(day: date, at: time, tz: str) -> datetime:
    return datetime.combine(day, at, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def check_reminder(consent, channel, value) -> bool:  # type: ignore[no-untyped-def]
    """Validate the reminder part of an appointment; add errors to the fields."""
    ok = True
    if not consent.data:
        return ok
    if channel.data not in labels.REMINDER_CHANNEL_NAMES:
        add_error(channel, _l("Choose how the reminder is sent."))
        return False
    text = (value.data or "").strip()
    if channel.data == "sms" and not PHONE_RE.match(text):
        add_error(value, _l("Enter a phone number for the reminder, like 0912 345 678."))
        ok = False
    elif channel.data == "email" and not EMAIL_RE.match(text):
        add_error(value, _l("Enter an e-mail address for the reminder."))
        ok = False
    return ok


def check_appointment_time(date_field, time_field, now: datetime, tz: str) -> datetime | None:  # type: ignore[no-untyped-def]
    """Both date and time, in the future; returns the UTC time or None (errors added)."""
    if date_field.errors or time_field.errors:
        return None
    if date_field.data is None or time_field.data is None:
        target = time_field if date_field.data is not None else date_field
        add_error(target, _l("An appointment needs both a date and a time."))
        return None
    when = local_to_utc(date_field.data, time_field.data, tz)
    if when <= now:
        add_error(date_field, _l("The appointment must be in the future."))
        return None
    if date_field.data.year > now.year + 2:
        add_error(date_field, _l("Please check the year of the appointment."))
        return None
    return when


# --- the contact entry form ---------------------------------------------------------------


class ReferralForm(SubForm):
    service = CodeSelectField(_l("Service"), choices=labels.choices(labels.SERVICE_NAMES, "—"))
    provider = CodeSelectField(_l("Provider"), choices=[])
    appt_date = LenientDateField(_l("Appointment date"), validators=[Optional()])
    appt_time = LenientTimeField(_l("Time"), validators=[Optional()])
    reminder_consent = BooleanField(_l("The client agrees to a reminder"))
    reminder_channel = CodeSelectField(
        _l("Reminder by"), choices=labels.choices(labels.REMINDER_CHANNEL_NAMES, "—"))
    contact_value = StringField(_l("Phone or e-mail for the reminder"),
                                validators=[maxlen(254)])

    def has_appointment(self) -> bool:
        return bool(self.appt_date.raw_data and self.appt_date.raw_data[0].strip()) or bool(
            self.appt_time.raw_data and self.appt_time.raw_data[0].strip())

    def is_used(self) -> bool:
        return bool(self.service.data) or bool(self.provider.data) or self.has_appointment()


class ContactForm(BaseForm):
    idempotency_key = HiddenField()
    occurred_on = LenientDateField(_l("Date"))
    channel = CodeRadioField(_l("Channel"), choices=labels.choices(labels.CHANNEL_NAMES))
    mother = StringField(_l("Mother's given name"), validators=[maxlen(40)])
    father = StringField(_l("Father's given name"), validators=[maxlen(40)])
    sex = CodeRadioField(_l("Sex"), choices=labels.choices(labels.SEX_NAMES))
    birth_year = StringField(_l("Year of birth"), validators=[maxlen(10)])
    age_band = CodeSelectField(_l("Age"), choices=labels.choices(labels.AGE_BAND_NAMES, "—"))
    participants = CountField(_l("Number of participants"), maximum=PARTICIPANTS_MAX)
    topics = MultiCheckboxField(_l("Counselling"), choices=labels.choices(labels.TOPIC_NAMES))
    condoms = CountField(_l("Condoms"))
    lubricants = CountField(_l("Lubricants"))
    leaflets = CountField(_l("Leaflets"))
    self_test_kits = CountField(_l("HIV self-test kits"))
    referrals = FieldList(FormField(ReferralForm), min_entries=REFERRAL_SLOTS,
                          max_entries=REFERRAL_SLOTS)
    notes = TextAreaField(_l("Notes"), validators=[maxlen(NOTES_MAX)])

    def setup(self, *, today: date, now: datetime, tz: str) -> ContactForm:
        """Per-request context: the group's today, now (UTC) and timezone."""
        self.today, self.now, self.tz = today, now, tz
        self.has_providers = False
        return self

    def set_providers(self, providers: list) -> None:
        """The provider choices (loaded only when a page shows them or a post names one)."""
        choices = [("", "—"), *((str(p.id), p.name) for p in providers)]
        for entry in self.referrals:
            entry.form.provider.choices = choices
        self.has_providers = True

    def names_a_provider(self) -> bool:
        return any(entry.form.provider.data for entry in self.referrals)

    def referral_rows(self, asked: object = None) -> int:
        """How many referral rows the page shows: one, more when the person asked for
        another ("add a referral") or has filled or got an error in a later one. Rows not
        shown are not rendered: most contacts have no referral, and each row is a dozen
        fields and some 30 options to render."""
        try:
            wanted = int(asked) if asked is not None else 1  # type: ignore[call-overload]
        except (TypeError, ValueError):
            wanted = 1
        in_use = max((i + 1 for i, entry in enumerate(self.referrals)
                      if entry.form.is_used() or entry.form.errors), default=0)
        return max(1, min(REFERRAL_SLOTS, max(wanted, in_use)))

    @property
    def is_session(self) -> bool:
        return self.channel.data == "group_session"

    # The client code ------------------------------------------------------------------

    def validate_code(self) -> str | None:
        """The normalised client code, or None with errors on the code fields."""
        ok = True
        for f in (self.mother, self.father, self.sex, self.birth_year):
            if f.errors:
                ok = False
        if not self.sex.data and not self.sex.errors:
            add_error(self.sex, _l("Choose female, male or transgender."))
            ok = False
        try:
            year = clientcode.year_part(self.birth_year.data, max_year=self.today.year)
        except clientcode.CodeError:
            add_error(self.birth_year,
                      _l("Enter a year of birth like 1996, or leave it empty if not known."))
            ok = False
        if not ok:
            return None
        code = clientcode.normalise(self.mother.data, self.father.data, self.sex.data, year)
        if clientcode.is_all_unknown(code):
            add_error(self.mother, _l("Give at least one of the names or the year of birth."))
            return None
        return code

    def check_code_only(self) -> str | None:
        """Validate just the code fields (the "Check client" button)."""
        for f in (self.mother, self.father, self.sex, self.birth_year, self.occurred_on):
            f.validate(self)
        if self.occurred_on.data is None:
            self.occurred_on.errors = []
        return self.validate_code()

    def birth_year_value(self) -> int | None:
        year = clientcode.year_part(self.birth_year.data, max_year=self.today.year)
        return None if year == clientcode.UNKNOWN_YEAR else int(year)

    # The whole form -------------------------------------------------------------------

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        ok = super().validate(extra_validators)
        if self.occurred_on.data is None and not self.occurred_on.errors:
            add_error(self.occurred_on, _l("Please enter the date of the contact."))
            ok = False
        elif self.occurred_on.data is not None:
            if self.occurred_on.data > date.fromordinal(self.today.toordinal() + 1):
                add_error(self.occurred_on, _l("The date cannot be after tomorrow."))
                ok = False
            elif self.occurred_on.data < EARLIEST:
                add_error(self.occurred_on, _l("Please check the year of this date."))
                ok = False
        if self.channel.data not in CHANNELS:
            if not self.channel.errors:
                add_error(self.channel, _l("Choose a channel."))
            ok = False
        elif self.is_session:
            count = self.participants.data
            if not self.participants.errors and (count is None or count < 1):
                add_error(self.participants,
                          _l("A small-group session needs its number of participants "
                             "(1 to %(n)s).", n=PARTICIPANTS_MAX))
                ok = False
        else:
            self._code = self.validate_code()
            if self._code is None:
                ok = False
        for entry in self.referrals:
            sub = entry.form
            if not sub.is_used():
                continue
            if not sub.service.data or sub.service.data not in SERVICES:
                if not sub.service.errors:
                    add_error(sub.service, _l("Choose a service for this referral."))
                ok = False
            if sub.has_appointment():
                sub._when = check_appointment_time(sub.appt_date, sub.appt_time, self.now,
                                                   self.tz)
                if sub._when is None:
                    ok = False
                if not check_reminder(sub.reminder_consent, sub.reminder_channel,
                                      sub.contact_value):
                    ok = False
            elif sub.reminder_consent.data:
                add_error(sub.appt_date, _l("A reminder needs an appointment date and time."))
                ok = False
        return ok

    def to_input(self, pseudonym: str | None, age_band: str | None) -> ContactInput:
        referrals = []
        for entry in self.referrals:
            sub = entry.form
            if not sub.is_used():
                continue
            appointment = None
            if sub.has_appointment():
                consent = bool(sub.reminder_consent.data)
                appointment = AppointmentInput(
                    scheduled_at=sub._when, reminder_consent=consent,
                    channel=sub.reminder_channel.data if consent else None,
                    contact_value=(sub.contact_value.data or None) if consent else None,
                )
            referrals.append(ReferralInput(
                service=sub.service.data,
                provider_id=int(sub.provider.data) if sub.provider.data else None,
                appointment=appointment,
            ))
        session = self.is_session
        return ContactInput(
            occurred_on=self.occurred_on.data,
            channel=self.channel.data,
            pseudonym=None if session else pseudonym,
            sex=None if session else self.sex.data,
            age_band=None if session else age_band,
            participants_count=self.participants.data if session else None,
            counselling_topics=list(self.topics.data or []),
            condoms=self.condoms.data or 0,
            lubricants=self.lubricants.data or 0,
            leaflets=self.leaflets.data or 0,
            self_test_kits=self.self_test_kits.data or 0,
            notes=self.notes.data or "",
            referrals=referrals,
        )


def age_band_for(birth_year: int | None, on: date) -> str | None:
    """The age band at a date, from the year of birth (None when the year is unknown)."""
    if birth_year is None:
        return None
    age = on.year - birth_year
    for band, upper in (("<18", 17), ("18-24", 24), ("25-34", 34), ("35-49", 49)):
        if age <= upper:
            return band
    return "50+"


assert set(AGE_BANDS) == set(labels.AGE_BAND_NAMES)
assert set(COUNSELLING_TOPICS) == set(labels.TOPIC_NAMES)


# --- edits, deletions, referrals, appointments --------------------------------------------


class ContactEditForm(BaseForm):
    occurred_on = LenientDateField(_l("Date"))
    channel = CodeSelectField(_l("Channel"), choices=labels.choices(labels.CHANNEL_NAMES))
    participants = CountField(_l("Number of participants"), maximum=PARTICIPANTS_MAX)
    topics = MultiCheckboxField(_l("Counselling"), choices=labels.choices(labels.TOPIC_NAMES))
    condoms = CountField(_l("Condoms"))
    lubricants = CountField(_l("Lubricants"))
    leaflets = CountField(_l("Leaflets"))
    self_test_kits = CountField(_l("HIV self-test kits"))
    notes = TextAreaField(_l("Notes"), validators=[maxlen(NOTES_MAX)])
    submit = SubmitField(_l("Save changes"))

    def validate_for(self, *, today: date, is_session: bool) -> bool:
        ok = self.validate()
        if self.occurred_on.data is None:
            if not self.occurred_on.errors:
                add_error(self.occurred_on, _l("Please enter the date of the contact."))
            ok = False
        elif self.occurred_on.data > date.fromordinal(today.toordinal() + 1):
            add_error(self.occurred_on, _l("The date cannot be after tomorrow."))
            ok = False
        elif self.occurred_on.data < EARLIEST:
            add_error(self.occurred_on, _l("Please check the year of this date."))
            ok = False
        if self.channel.data not in CHANNELS:
            if not self.channel.errors:
                add_error(self.channel, _l("Choose a channel."))
            ok = False
        elif (self.channel.data == "group_session") != is_session:
            add_error(self.channel, _l("A small-group session cannot become an individual "
                                       "contact, or the other way round."))
            ok = False
        if is_session and not self.participants.errors and (
                self.participants.data is None or self.participants.data < 1):
            add_error(self.participants, _l(
                "A small-group session needs its number of participants (1 to %(n)s).",
                n=PARTICIPANTS_MAX))
            ok = False
        return ok

    def values(self, is_session: bool) -> dict:
        values = {
            "occurred_on": self.occurred_on.data,
            "channel": self.channel.data,
            "counselling_topics": list(self.topics.data or []),
            "condoms": self.condoms.data or 0,
            "lubricants": self.lubricants.data or 0,
            "leaflets": self.leaflets.data or 0,
            "self_test_kits": self.self_test_kits.data or 0,
            "notes": self.notes.data or "",
        }
        if is_session:
            values["participants_count"] = self.participants.data
        return values


class DeleteForm(BaseForm):
    reason = CodeRadioField(_l("Why delete this contact?"),
                            choices=labels.choices(labels.DELETE_REASON_NAMES))
    submit = SubmitField(_l("Delete contact"))

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        ok = super().validate(extra_validators)
        if self.reason.data not in DELETE_REASONS:
            if not self.reason.errors:
                add_error(self.reason, _l("Choose a reason."))
            ok = False
        return ok


class ReferralUpdateForm(BaseForm):
    status = CodeSelectField(_l("Status"),
                             choices=labels.choices(labels.REFERRAL_STATUS_NAMES))
    completed_on = LenientDateField(_l("Completed on (if completed)"), validators=[Optional()])
    submit = SubmitField(_l("Save"))

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        ok = super().validate(extra_validators)
        if self.status.data not in labels.REFERRAL_STATUS_NAMES:
            if not self.status.errors:
                add_error(self.status, _l("Choose a status."))
            ok = False
        return ok


class AppointmentForm(BaseForm):
    appt_date = LenientDateField(_l("Appointment date"))
    appt_time = LenientTimeField(_l("Time"))
    reminder_consent = BooleanField(_l("The client agrees to a reminder"))
    reminder_channel = CodeSelectField(
        _l("Reminder by"), choices=labels.choices(labels.REMINDER_CHANNEL_NAMES, "—"))
    contact_value = StringField(_l("Phone or e-mail for the reminder"),
                                validators=[maxlen(254)])
    submit = SubmitField(_l("Book appointment"))

    def validate_at(self, now: datetime, tz: str) -> datetime | None:
        ok = self.validate()
        when = check_appointment_time(self.appt_date, self.appt_time, now, tz)
        ok = check_reminder(self.reminder_consent, self.reminder_channel,
                            self.contact_value) and ok
        return when if ok and when is not None else None


class RescheduleForm(BaseForm):
    appt_date = LenientDateField(_l("New date"))
    appt_time = LenientTimeField(_l("New time"))
    submit = SubmitField(_l("Reschedule"))

    def validate_at(self, now: datetime, tz: str) -> datetime | None:
        ok = self.validate()
        when = check_appointment_time(self.appt_date, self.appt_time, now, tz)
        return when if ok else None


class TestResultForm(BaseForm):
    """The outcome of a referral to testing (harmnet.services.results)."""

    tested = CodeSelectField(_l("Was the client tested?"),
                             choices=labels.choices(labels.TESTED_NAMES, "—"))
    tested_on = LenientDateField(_l("Test date"), validators=[Optional()])
    result = CodeSelectField(_l("Result"), choices=labels.choices(labels.RESULT_NAMES, "—"))
    confirm_result = CodeSelectField(
        _l("Confirmatory result (after a reactive HIV test)"),
        choices=labels.choices(labels.CONFIRMATION_NAMES, _l("Not known yet")))
    confirmed_on = LenientDateField(_l("Confirmation date"), validators=[Optional()])
    prep = BooleanField(_l("Referred to PrEP: follow up whether PrEP started"))
    submit = SubmitField(_l("Save result"))

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        ok = super().validate(extra_validators)
        if self.tested.data not in labels.TESTED_NAMES:
            if not self.tested.errors:
                add_error(self.tested, _l("Choose yes or no."))
            ok = False
        return ok


class SelfTestForm(BaseForm):
    """The result a client reported of a self-test kit."""

    reported_on = LenientDateField(_l("Date the result was reported"), validators=[Optional()])
    result = CodeSelectField(_l("Result"), choices=labels.choices(labels.RESULT_NAMES, "—"))
    submit = SubmitField(_l("Save result"))


class LinkageForm(BaseForm):
    """The answer to a linkage follow-up: started (with the date), did not, still open."""

    status = CodeSelectField(_l("Did treatment or PrEP start?"),
                             choices=labels.choices(labels.LINKAGE_STATUS_NAMES))
    started_on = LenientDateField(_l("Date started"), validators=[Optional()])
    submit = SubmitField(_l("Save"))


class ConfirmForm(BaseForm):
    """A bare POST button: CSRF only."""

    submit = SubmitField(_l("Confirm"))


# --- filters (GET, no CSRF) ---------------------------------------------------------------


class FilterForm(Form):
    date_from = LenientDateField(_l("From"), validators=[Optional()])
    date_to = LenientDateField(_l("To"), validators=[Optional()])
    peer = CodeSelectField(_l("Peer educator"), choices=[])
    channel = CodeSelectField(_l("Channel"),
                              choices=labels.choices(labels.CHANNEL_NAMES, _l("All")))
    service = CodeSelectField(_l("Service"), choices=[])

    class Meta:
        bind_field = BaseForm.Meta.bind_field

    def setup(self, peers: list[tuple[int, str]]) -> FilterForm:
        self.peer.choices = [("", _l("Everyone")), *((str(i), n) for i, n in peers)]
        self.service.choices = [
            ("", _l("All")),
            ("counselling", _l("Counselling")),
            *labels.ITEM_NAMES.items(),
            *((k, _l("Referral: %(s)s", s=v)) for k, v in labels.SERVICE_NAMES.items()),
        ]
        return self


class MonthForm(Form):
    month = StringField(_l("Month"), validators=[maxlen(7)])

    def parsed(self) -> tuple[int, int] | None:
        raw = (self.month.data or "").strip()
        match = re.fullmatch(r"(\d{4})-(\d{2})", raw)
        if not match or not (1 <= int(match[2]) <= 12) or not (2000 <= int(match[1]) <= 2100):
            add_error(self.month, _l("Choose a month like 2024-05."))
            return None
        return int(match[1]), int(match[2])
