"""Routes of /api/v1/: who am I (for the phone's queue), save and read a contact, the spec."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import g, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict
from wtforms import FieldList, FormField

from ..access import enter_group
from ..contacts import saving
from ..contacts.forms import ContactForm
from ..extensions import db
from ..models._types import utcnow
from ..offline import queue_owner
from ..problem import problem
from ..services import audit
from ..services import contacts as service
from . import bp, openapi
from .schemas import ContactIn

_CONTACT_IN = ContactIn()


@bp.before_request
def _signed_in():  # type: ignore[no-untyped-def]
    if request.endpoint == "api.spec":
        return None
    if not current_user.is_authenticated:
        return problem(401, _("Please sign in again; what you saved is kept on this phone."))
    return None


@bp.get("/me")
@openapi.operation("/me", "get", summary="The signed-in person, for the offline queue",
                   ok=(200, "Me"), errors=(401,))
def me():  # type: ignore[no-untyped-def]
    from flask_babel import get_locale

    return jsonify(queue_owner=queue_owner(current_user.id), csrf_token=generate_csrf(),
                   locale=str(get_locale()))


def _form_data(data: dict) -> MultiDict:
    """The JSON body as the entry form's fields, so one form validates both doors."""
    md: MultiDict = MultiDict()
    for name in ("idempotency_key", "occurred_on", "channel", "mother", "father", "sex",
                 "birth_year", "age_band", "participants", "condoms", "lubricants",
                 "leaflets", "self_test_kits", "notes"):
        if data.get(name) is not None:
            md.add(name, str(data[name]))
    for topic in data["topics"]:
        md.add("topics", topic)
    for i, ref in enumerate(data["referrals"]):
        for name in ("service", "provider", "appt_date", "appt_time", "reminder_channel",
                     "contact_value"):
            if ref.get(name) is not None:
                md.add(f"referrals-{i}-{name}", str(ref[name]))
        if ref.get("reminder_consent"):
            md.add(f"referrals-{i}-reminder_consent", "y")
    return md


def _field_errors(form: ContactForm) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}

    def walk(field) -> None:  # type: ignore[no-untyped-def]
        if isinstance(field, FieldList | FormField):
            for sub in field:
                walk(sub)
        elif field.errors:
            found[field.name] = [str(e) for e in field.errors]

    for field in form:
        walk(field)
    return found


def _unprocessable(errors: dict[str, list[str]], detail: str | None = None):  # type: ignore[no-untyped-def]
    return problem(422, detail or _("Please correct the fields marked below."), errors=errors)


@bp.post("/groups/<group_slug>/contacts")
@openapi.operation(
    "/groups/{group_slug}/contacts", "post", summary="Record a service contact",
    body="ContactIn", ok=(201, "ContactSaved"), also=(200, "ContactSaved"),
    errors=(400, 401, 403, 404, 422),
    description="The same rules as the entry form. A second request with the same "
                "idempotency_key answers 200 with the first contact and saves nothing.")
def create_contact(group_slug: str):  # type: ignore[no-untyped-def]
    enter_group(group_slug)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return problem(400, _("The request body must be a JSON object."))
    try:
        data = _CONTACT_IN.load(body)
    except ValidationError as exc:
        return _unprocessable(_schema_errors(exc.messages))
    if data.get("queue_owner") not in (None, queue_owner(current_user.id)):
        # Saved on this phone by someone else: never sent under this person's name.
        return problem(403, _("This was saved on this phone by another person; "
                              "it was not sent."))
    tz = g.group.timezone
    form = ContactForm(formdata=_form_data(data), meta={"csrf": False})
    form.setup(today=datetime.now(ZoneInfo(tz)).date(), now=utcnow(), tz=tz)
    if form.names_a_provider():
        form.set_providers(service.active_providers())
    if not form.validate():
        return _unprocessable(_field_errors(form))
    try:
        saved = saving.save(form, data["idempotency_key"], tell_returning=True)
    except saving.Refused as refused:
        errors = _field_errors(form)
        return _unprocessable(errors, None if errors else str(refused.message))
    url = url_for("contacts.show", group_slug=g.group.slug, contact_id=saved.contact_id)
    db.session.commit()
    return jsonify(id=saved.contact_id, duplicate=saved.duplicate,
                   returning_client=saved.returning, url=url), (200 if saved.duplicate else 201)


def _schema_errors(messages: object, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested messages as flat form-style names, each with our own
    translated message (marshmallow's are English only)."""
    found: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}-{key}" if prefix else str(key)
            if isinstance(value, dict):
                found.update(_schema_errors(value, name))
            else:
                found[name] = [_message_for(name)]
    return found


def _message_for(name: str) -> str:
    if name.endswith("idempotency_key"):
        return _("This form has expired. Please check it and save again.")
    if name.endswith(("occurred_on", "appt_date")):
        return _("Please enter a date (day, month, year).")
    if name.endswith("appt_time"):
        return _("Please enter a time like 14:30.")
    if name.endswith(("condoms", "lubricants", "leaflets", "self_test_kits", "participants")):
        return _("Please enter a whole number.")
    return _("Please choose from the list.") if not name.endswith(
        ("mother", "father", "notes", "contact_value", "birth_year", "_schema")
    ) else _("Please check this value.")


@bp.get("/groups/<group_slug>/contacts/<int:contact_id>")
@openapi.operation("/groups/{group_slug}/contacts/{contact_id}", "get",
                   summary="A contact the signed-in person may see", ok=(200, "ContactOut"),
                   errors=(401, 404))
def get_contact(group_slug: str, contact_id: int):  # type: ignore[no-untyped-def]
    enter_group(group_slug)
    contact = service.get_contact(contact_id)  # an id past BIGINT matches no route: 404
    if contact is None or not service.can_see(contact, current_user.id, g.membership.role):
        return problem(404, _("There is no such page, or it is not yours to see."))
    referrals = service.contact_referrals(contact.id)
    body = jsonify(id=contact.id, occurred_on=contact.occurred_on.isoformat(),
                   channel=contact.channel,
                   referrals=[{"service": r.service, "status": r.status} for r, _n in referrals])
    audit.record("contact.viewed", "contact", contact.id, via="api")  # as the page does
    db.session.commit()
    return body


@bp.get("/openapi.json")
def spec():  # type: ignore[no-untyped-def]
    return jsonify(openapi.document())
