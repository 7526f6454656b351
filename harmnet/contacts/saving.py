"""Saving a validated contact form: one path for the entry page and the /api/v1/ door."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g
from flask_login import current_user

from .. import clientcode
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..services import appointments as appointment_service
from ..services import contacts as service
from .forms import ContactForm, add_error, age_band_for

CONTACT_ERRORS = {
    "age_band_needed": ("age_band", _l("This is a new client: please choose an age band.")),
    "unknown_provider": (None, _l("Please choose a provider from the list.")),
    "unknown_service": (None, _l("Please choose a service from the list.")),
    "unknown_channel": ("channel", _l("Choose a channel.")),
    "code_needed": ("mother", _l("Give at least one of the names or the year of birth.")),
    "channel_kind": ("channel", _l("A small-group session cannot become an individual "
                                   "contact, or the other way round.")),
}
APPOINTMENT_ERRORS = {
    "in_past": _l("The appointment must be in the future."),
    "channel_needed": _l("Choose how the reminder is sent."),
    "contact_value_needed": _l("Enter a phone number or e-mail for the reminder."),
    "not_open": _l("This appointment is already closed."),
    "not_yet": _l("This appointment has not happened yet."),
    "unknown_referral": _l("This referral no longer exists."),
    "unknown_appointment": _l("This appointment no longer exists."),
    "unknown_status": _l("Choose a status."),
}


@dataclass
class Saved:
    contact_id: int
    #: The idempotency key was used before: this is the first request's contact.
    duplicate: bool = False
    #: Whether the client had been seen before (None for a session or a replay).
    returning: bool | None = None


class Refused(Exception):
    """The service refused the contact: a message for the form, or on one of its fields."""

    def __init__(self, message: object, field_name: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field_name = field_name


def save(form: ContactForm, key: str, *, tell_returning: bool = False) -> Saved:
    """Record a contact from a validated form in the current group, or raise Refused
    (after rolling back, with the error also added to the form's field)."""
    pseudonym = None
    age_band = None
    returning = None
    if not form.is_session:
        pseudonym = clientcode.pseudonym(g.group.id, form._code)
        age_band = form.age_band.data or age_band_for(form.birth_year_value(),
                                                      form.occurred_on.data)
        if tell_returning:  # one more query, only for callers that report it
            returning = service.find_client(pseudonym) is not None
    try:
        contact_id = service.create_contact(g.group.id, current_user.id,
                                            form.to_input(pseudonym, age_band), key)
    except service.DuplicateSubmission as dup:
        db.session.rollback()
        return Saved(dup.contact_id, duplicate=True)
    except service.ContactError as exc:
        db.session.rollback()
        field_name, message = CONTACT_ERRORS.get(exc.code, (None, _l("Please check the form.")))
        if field_name:
            add_error(getattr(form, field_name), message)
        raise Refused(message, field_name) from None
    except appointment_service.AppointmentError as exc:
        db.session.rollback()
        raise Refused(APPOINTMENT_ERRORS.get(exc.code, _l("Please check the form."))) from None
    return Saved(contact_id, returning=returning)
