"""Marshmallow schemas of /api/v1/: they type-check bodies and describe them in OpenAPI."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..contacts.forms import NOTES_MAX, PARTICIPANTS_MAX, REFERRAL_SLOTS
from ..contacts.labels import (
    AGE_BAND_NAMES,
    CHANNEL_NAMES,
    REMINDER_CHANNEL_NAMES,
    SERVICE_NAMES,
    SEX_NAMES,
    TOPIC_NAMES,
)

KEY_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"
COUNT = {"load_default": 0, "validate": validate.Range(min=0, max=1000)}


def _text(n: int, **kw: object) -> fields.String:
    return fields.String(validate=validate.Length(max=n), load_default=None, allow_none=True,
                         **kw)


class ReferralIn(Schema):
    service = fields.String(required=True, validate=validate.OneOf(list(SERVICE_NAMES)))
    provider = fields.Integer(load_default=None, allow_none=True,
                              validate=validate.Range(min=1, max=2**62),
                              metadata={"description": "A provider id of the group."})
    appt_date = fields.Date(load_default=None, allow_none=True,
                            metadata={"description": "Local date of the appointment."})
    appt_time = fields.String(load_default=None, allow_none=True,
                              validate=validate.Regexp(r"^\d{2}:\d{2}(:\d{2})?$"),
                              metadata={"description": "Local time, HH:MM."})
    reminder_consent = fields.Boolean(load_default=False)
    reminder_channel = fields.String(load_default=None, allow_none=True,
                                     validate=validate.OneOf(list(REMINDER_CHANNEL_NAMES)))
    contact_value = _text(254, metadata={"description": "Phone or e-mail for the reminder "
                                                        "(encrypted at rest)."})


class ContactIn(Schema):
    """A service contact, the same fields as the entry form."""

    idempotency_key = fields.String(
        required=True, validate=validate.Regexp(KEY_PATTERN),
        metadata={"description": "Made once per form; a replay returns the first contact."})
    occurred_on = fields.Date(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(list(CHANNEL_NAMES)))
    mother = _text(40, metadata={"description": "Client code: mother's given name."})
    father = _text(40, metadata={"description": "Client code: father's given name."})
    sex = fields.String(load_default=None, allow_none=True,
                        validate=validate.OneOf(list(SEX_NAMES)))
    birth_year = _text(10)
    age_band = fields.String(load_default=None, allow_none=True,
                             validate=validate.OneOf(list(AGE_BAND_NAMES)))
    participants = fields.Integer(load_default=None, allow_none=True,
                                  validate=validate.Range(min=1, max=PARTICIPANTS_MAX))
    topics = fields.List(fields.String(validate=validate.OneOf(list(TOPIC_NAMES))),
                         load_default=list, validate=validate.Length(max=len(TOPIC_NAMES)))
    condoms = fields.Integer(**COUNT)
    lubricants = fields.Integer(**COUNT)
    leaflets = fields.Integer(**COUNT)
    self_test_kits = fields.Integer(**COUNT)
    notes = _text(NOTES_MAX)
    referrals = fields.List(fields.Nested(ReferralIn), load_default=list,
                            validate=validate.Length(max=REFERRAL_SLOTS))
    queue_owner = fields.String(load_default=None, allow_none=True,
                                validate=validate.Length(max=64), metadata={
        "description": "The queue_owner of GET /me when the phone queued it: a contact "
                       "queued by another person is refused (403), never sent."})


class ContactSaved(Schema):
    id = fields.Integer(required=True)
    duplicate = fields.Boolean(required=True, metadata={
        "description": "True when the key was used before: this is the first contact."})
    returning_client = fields.Boolean(allow_none=True, required=True, metadata={
        "description": "Whether the client had been seen before (null for a session "
                       "or a replay)."})
    url = fields.String(required=True)


class ReferralOut(Schema):
    service = fields.String(required=True)
    status = fields.String(required=True)


class ContactOut(Schema):
    id = fields.Integer(required=True)
    occurred_on = fields.Date(required=True)
    channel = fields.String(required=True)
    referrals = fields.List(fields.Nested(ReferralOut), required=True)


class Me(Schema):
    queue_owner = fields.String(required=True, metadata={
        "description": "An opaque per-user id: the phone binds its offline queue to it."})
    csrf_token = fields.String(required=True, metadata={
        "description": "Send it back in the X-CSRFToken header of every POST."})
    locale = fields.String(required=True)


class Problem(Schema):
    """RFC 9457 problem details; `errors` maps form field names to messages."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
