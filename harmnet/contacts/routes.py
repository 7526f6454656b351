"""Routes: the contact entry page, contact lists, follow-ups, referrals and appointments.

Peer educators see and act on their own contacts only (another person's is a 404, as if
it did not exist); coordinators see the whole group. The client code travels only in the
POST body of the entry page: it is never in a URL, the session, a flash message or a log.
"""

from __future__ import annotations

import calendar
import re
import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import (
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import clientcode, confirm
from ..access import coordinator_required, per_login
from ..extensions import db, limiter
from ..i18n import lazy_gettext as _l
from ..keyset import Cursor, parse_cursor
from ..models import Client, GroupMembership, User
from ..models._types import utcnow
from ..security import mask_phone
from ..services import appointments as appointment_service
from ..services import audit
from ..services import contacts as service
from ..services import results as result_service
from ..services import supervision as supervision_service
from . import bp, labels, saving
from .forms import (
    REFERRAL_SLOTS,
    AppointmentForm,
    ConfirmForm,
    ContactEditForm,
    ContactForm,
    DeleteForm,
    FilterForm,
    MonthForm,
    ReferralUpdateForm,
    RescheduleForm,
    add_error,
)
from .saving import APPOINTMENT_ERRORS, CONTACT_ERRORS

_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

REFERRAL_ERRORS = {
    "completed_in_future": _l("The completion date cannot be in the future."),
    "completed_before_referral": _l("The completion date is before the referral."),
    "unknown_status": _l("Choose a status."),
}


@bp.app_template_filter("code_name")
def code_name(code: str | None, kind: str) -> str:
    """Translate a stored code, e.g. {{ r.service|code_name('service_name') }}."""
    if code is None:
        return ""
    return str(labels.ALL[kind].get(code, code))


@bp.app_template_filter("masked")
def masked(value: str | None) -> str:
    """A reminder contact value, masked: phones to their last two digits, e-mail to its domain."""
    if not value:
        return ""
    if "@" in value:
        return "•••@" + value.rsplit("@", 1)[1]
    return mask_phone(value)


def _tz() -> str:
    return g.group.timezone


def group_today() -> date:
    return datetime.now(ZoneInfo(_tz())).date()


def member_role() -> str:
    return g.membership.role


def _is_coordinator() -> bool:
    return member_role() == "coordinator"


def _cursor(name: str) -> Cursor | None:
    return parse_cursor(request.args.get(name), date)


def contact_or_404(contact_id: int):  # type: ignore[no-untyped-def]
    contact = service.get_contact(contact_id)
    if contact is None or not service.can_see(contact, current_user.id, member_role()):
        abort(404)
    return contact


def referral_or_404(referral_id: int):  # type: ignore[no-untyped-def]
    found = service.get_referral(referral_id)
    if found is None or not service.can_see(found[1], current_user.id, member_role()):
        abort(404)
    return found


def _appointment_or_404(appointment_id: int):  # type: ignore[no-untyped-def]
    appointment = appointment_service.get_appointment(appointment_id)
    if appointment is None:
        abort(404)
    referral, contact = referral_or_404(appointment.referral_id)
    return appointment, referral, contact


# --- the entry page -----------------------------------------------------------------------


def _render_new(form: ContactForm, status: int = 200, *, add_row: bool = False,
                **extra: object):  # type: ignore[no-untyped-def]
    if not form.has_providers:
        form.set_providers(service.active_providers())
    rows = form.referral_rows(request.form.get("referral_rows"))
    if add_row:
        rows = form.referral_rows(rows + 1)
    return render_template("contacts/new.html", form=form, referral_rows=rows,
                           referral_slots=REFERRAL_SLOTS, **extra), status


def _check_limit() -> str:
    return current_app.config["CLIENT_CHECK_RATE_LIMIT"]


def _not_a_check() -> bool:
    return request.form.get("action") != "check"


def _too_many_message() -> str:
    return _("Too many client checks in a short time. Please wait a minute, then check "
             "again, or save the contact.")


def _too_many_checks(_limit):  # type: ignore[no-untyped-def]
    """The entry page again, with what was typed and the reason: nothing is lost."""
    form = ContactForm()
    form.setup(today=group_today(), now=utcnow(), tz=_tz())
    form.check_code_only()  # the code's own errors, if any, beside the message
    return make_response(_render_new(form, 429, checked=True,
                                     code_errors=[_too_many_message()]))


def _too_many_checks_here(_limit):  # type: ignore[no-untyped-def]
    return make_response(render_template("contacts/_check.html",
                                         code_errors=[_too_many_message()]), 429)


# Both ways of asking "Check client" share one count per login (the in-place check below
# and the entry page's own button without JavaScript).
@bp.route("/new", methods=["GET", "POST"])
@limiter.shared_limit(_check_limit, scope="client-check", key_func=per_login, methods=["POST"],
                      exempt_when=_not_a_check, on_breach=_too_many_checks)
def new():  # type: ignore[no-untyped-def]
    form = ContactForm()
    form.setup(today=group_today(), now=utcnow(), tz=_tz())
    if form.names_a_provider():  # most posts name none: spare the query
        form.set_providers(service.active_providers())
    if request.method == "GET":
        form.idempotency_key.data = secrets.token_urlsafe(24)
        form.occurred_on.data = form.today
        form.channel.data = service.last_channel(current_user.id) or "in_person"
        saved = request.args.get("saved", type=int)
        return _render_new(form, saved=saved)

    if not _KEY_RE.match(form.idempotency_key.data or ""):
        # A token we did not make: start a fresh one rather than trust it.
        form.idempotency_key.data = secrets.token_urlsafe(24)
        form.validate()
        return _render_new(form, 400, expired=True)
    key = form.idempotency_key.data

    action = request.form.get("action")
    if action in ("check", "add_referral"):
        try:
            form.csrf_token.validate(form)
        except Exception:  # noqa: BLE001 - any CSRF failure is one answer
            return _render_new(form, 400, expired=True)
    if action == "add_referral":  # one more referral row; nothing is checked or saved
        return _render_new(form, add_row=True)
    if action == "check":
        code = form.check_code_only()
        if code is None:
            return _render_new(form, 400)
        return _render_new(form, checked=True, summary=_client_summary(code))

    if not form.validate():
        expired = bool(form.csrf_token.errors)
        return _render_new(form, 400, expired=expired)

    try:
        saved = saving.save(form, key)
    except saving.Refused as refused:
        extra = {"checked": refused.field_name == "age_band", "summary": None}
        return _render_new(form, 400, form_message=None if refused.field_name
                           else refused.message, **extra)
    if saved.duplicate:
        flash(_("This contact was already saved; it was not saved twice."), "info")
        return redirect(url_for("contacts.new", saved=saved.contact_id))
    contact_id = saved.contact_id
    target = url_for("contacts.new", saved=contact_id)  # before the commit expires g.group
    db.session.commit()
    flash(_("Contact saved."), "success")
    return redirect(target)


def _client_summary(code: str):  # type: ignore[no-untyped-def]
    summary = service.client_summary(clientcode.pseudonym(g.group.id, code))
    if summary is not None:
        # "Who looked at this person's record?" has an answer (ids only).
        audit.record("client.history_viewed", "client", summary.client_id)
        db.session.commit()
    return summary


@bp.post("/check")
@limiter.shared_limit(_check_limit, scope="client-check", key_func=per_login,
                      on_breach=_too_many_checks_here)
def check():  # type: ignore[no-untyped-def]
    """The client check answered in place: the entry page's script posts the code fields
    (never in a URL) and puts this fragment where the answer goes. Without the script the
    entry page's own "Check client" does the same with a reload."""
    form = ContactForm()
    form.setup(today=group_today(), now=utcnow(), tz=_tz())
    try:
        form.csrf_token.validate(form)
    except Exception:  # noqa: BLE001 - any CSRF failure is one answer
        return render_template("contacts/_check.html", code_errors=[
            _("This form has expired. Please check it and save again.")]), 400
    code = form.check_code_only()
    if code is None:
        errors = [str(e) for f in (form.mother, form.father, form.sex, form.birth_year)
                  for e in f.errors]
        return render_template("contacts/_check.html", code_errors=errors), 400
    return render_template("contacts/_check.html", summary=_client_summary(code))


# --- lists --------------------------------------------------------------------------------


def _group_people() -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(User.id, User.display_name)
        .join(GroupMembership, GroupMembership.user_id == User.id)
        .order_by(User.display_name)
    ).all()
    return [(r[0], r[1]) for r in rows]


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    coordinator = _is_coordinator()
    form = FilterForm(request.args).setup(_group_people() if coordinator else [])
    ok = form.validate()
    filters = service.ContactFilters()
    if ok:
        filters = service.ContactFilters(
            peer_educator_id=int(form.peer.data) if coordinator and form.peer.data else None,
            date_from=form.date_from.data, date_to=form.date_to.data,
            channel=form.channel.data or None, service=form.service.data or None,
        )
    if not coordinator:
        filters.peer_educator_id = current_user.id
    page = service.list_contacts(filters, 25, before=_cursor("before"), after=_cursor("after"))
    args = {k: v for k, v in request.args.items() if k not in ("before", "after") and v}
    return render_template("contacts/index.html", form=form, page=page, args=args,
                           coordinator=coordinator), (200 if ok else 400)


@bp.get("/<int:contact_id>")
def show(contact_id: int):  # type: ignore[no-untyped-def]
    contact = contact_or_404(contact_id)
    referrals = service.contact_referrals(contact.id)
    appointments = service.referral_appointments([r.id for r, _ in referrals])
    client = None
    if contact.client_id is not None:
        client = db.session.scalar(select(Client).where(Client.id == contact.client_id))
    author = db.session.get(User, contact.peer_educator_id)
    audit.record("contact.viewed", "contact", contact.id)
    page = render_template(
        "contacts/show.html", contact=contact, referrals=referrals, appointments=appointments,
        client=client, author=author,
        self_test=result_service.self_test_result(contact.id) if contact.self_test_kits
        else None,
        can_edit=service.can_edit(contact, current_user.id, member_role()),
        confirm_form=ConfirmForm(formdata=None),
    )
    db.session.commit()  # the view is recorded (a GET's transaction is otherwise not kept)
    return page


@bp.route("/<int:contact_id>/edit", methods=["GET", "POST"])
def edit(contact_id: int):  # type: ignore[no-untyped-def]
    contact = contact_or_404(contact_id)
    if not service.can_edit(contact, current_user.id, member_role()):
        abort(403)
    is_session = contact.channel == "group_session"
    form = ContactEditForm(obj=contact)
    if request.method == "GET":
        form.participants.data = contact.participants_count
        form.topics.data = list(contact.counselling_topics or [])
    elif form.validate_for(today=group_today(), is_session=is_session):
        try:
            service.update_contact(contact, actor_id=current_user.id,
                                   **form.values(is_session))
        except service.ContactError as exc:
            db.session.rollback()
            fallback = ("", _l("Please check the form."))
            add_error(form.channel, CONTACT_ERRORS.get(exc.code, fallback)[1])
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("contacts.show", contact_id=contact.id))
    status = 400 if request.method == "POST" else 200
    return render_template("contacts/edit.html", form=form, contact=contact,
                           is_session=is_session), status


@bp.route("/<int:contact_id>/delete", methods=["GET", "POST"])
def delete(contact_id: int):  # type: ignore[no-untyped-def]
    contact = contact_or_404(contact_id)
    if not service.can_edit(contact, current_user.id, member_role()):
        abort(403)
    form = DeleteForm()
    if request.method == "POST":
        if form.validate():
            service.delete_contact(contact, form.reason.data, actor_id=current_user.id)
            db.session.commit()
            flash(_("Contact deleted."), "success")
            return redirect(url_for("contacts.index"))
        return render_template("contacts/delete.html", form=form, contact=contact), 400
    return render_template("contacts/delete.html", form=form, contact=contact)


# --- follow-ups, referrals, appointments --------------------------------------------------


@bp.get("/follow-ups")
def followups():  # type: ignore[no-untyped-def]
    days = int(g.group.setting("followup_days"))
    mine = None if _is_coordinator() else current_user.id
    data = service.followups(peer_educator_id=mine, today=group_today(), now=utcnow(),
                             open_after_days=days)
    linkages = result_service.open_linkages(peer_educator_id=mine, today=group_today())
    return render_template("contacts/followups.html", data=data, days=days,
                           linkages=linkages, confirm_form=ConfirmForm(formdata=None))


def _render_referral(referral, contact, update_form=None, appt_form=None, status=200):  # type: ignore[no-untyped-def]
    from ..services.providers import get_provider

    provider = get_provider(referral.provider_id) if referral.provider_id else None
    appointments = service.referral_appointments([referral.id])[referral.id]
    if update_form is None:
        update_form = ReferralUpdateForm(formdata=None, obj=referral)
    if appt_form is None:
        appt_form = AppointmentForm(formdata=None)
    return render_template(
        "contacts/referral.html", referral=referral, contact=contact, provider=provider,
        appointments=appointments, update_form=update_form, appt_form=appt_form,
        confirm_form=ConfirmForm(formdata=None),
        test=result_service.test_of(referral.service),
        result=result_service.referral_result(referral.id),
    ), status


@bp.route("/referrals/<int:referral_id>", methods=["GET", "POST"])
def referral(referral_id: int):  # type: ignore[no-untyped-def]
    referral, contact = referral_or_404(referral_id)
    if request.method == "GET":
        return _render_referral(referral, contact)
    form = ReferralUpdateForm()
    if form.validate():
        try:
            service.update_referral(referral, form.status.data, form.completed_on.data,
                                    actor_id=current_user.id, today=group_today())
        except service.ContactError as exc:
            db.session.rollback()
            add_error(form.completed_on, REFERRAL_ERRORS.get(exc.code, exc.code))
        else:
            db.session.commit()
            flash(_("Referral updated."), "success")
            return redirect(url_for("contacts.referral", referral_id=referral.id))
    return _render_referral(referral, contact, update_form=form, status=400)


@bp.post("/referrals/<int:referral_id>/appointment")
def book(referral_id: int):  # type: ignore[no-untyped-def]
    referral, contact = referral_or_404(referral_id)
    form = AppointmentForm()
    when = form.validate_at(utcnow(), _tz())
    if when is not None:
        consent = bool(form.reminder_consent.data)
        try:
            appointment_service.create_appointment(
                g.group.id, referral.id, when, reminder_consent=consent,
                channel=form.reminder_channel.data if consent else None,
                contact_value=form.contact_value.data if consent else None,
                actor_id=current_user.id,
            )
        except appointment_service.AppointmentError as exc:
            db.session.rollback()
            add_error(form.appt_date, APPOINTMENT_ERRORS.get(exc.code, exc.code))
        else:
            db.session.commit()
            flash(_("Appointment booked."), "success")
            return redirect(url_for("contacts.referral", referral_id=referral.id))
    return _render_referral(referral, contact, appt_form=form, status=400)


def _back(referral_id: int):  # type: ignore[no-untyped-def]
    target = request.form.get("back")
    if target == "follow-ups":
        return redirect(url_for("contacts.followups"))
    return redirect(url_for("contacts.referral", referral_id=referral_id))


@bp.post("/appointments/<int:appointment_id>/<any(attended, missed):status>")
def mark(appointment_id: int, status: str):  # type: ignore[no-untyped-def]
    appointment, referral, _contact = _appointment_or_404(appointment_id)
    if not ConfirmForm().validate():
        abort(400)
    try:
        appointment_service.mark_appointment(appointment.id, status, actor_id=current_user.id,
                                             attended_on=group_today())
    except appointment_service.AppointmentError as exc:
        db.session.rollback()
        flash(str(APPOINTMENT_ERRORS.get(exc.code, exc.code)), "error")
    else:
        db.session.commit()
        flash(_("Appointment marked attended.") if status == "attended"
              else _("Appointment marked missed."), "success")
    return _back(referral.id)


@bp.post("/appointments/<int:appointment_id>/cancel")
def cancel(appointment_id: int):  # type: ignore[no-untyped-def]
    appointment, referral, _contact = _appointment_or_404(appointment_id)
    if not ConfirmForm().validate():
        abort(400)
    if appointment.status in ("scheduled", "missed") and not confirm.confirmed():
        back = request.form.get("back")
        return confirm.ask(
            title=_("Cancel appointment"),
            question=_("Cancel the appointment for %(service)s on %(when)s? Its reminders "
                       "stop and the phone number or e-mail kept for them is erased. This "
                       "cannot be undone.",
                       service=code_name(referral.service, "service_name"),
                       when=format_datetime(appointment.scheduled_at, "short")),
            confirm_label=_("Yes, cancel the appointment"),
            keep_label=_("No, keep it"),
            back_url=(url_for("contacts.followups") if back == "follow-ups"
                      else url_for("contacts.referral", referral_id=referral.id)),
            hidden={"back": back if back == "follow-ups" else ""},
        )
    try:
        appointment_service.cancel_appointment(appointment.id, actor_id=current_user.id)
    except appointment_service.AppointmentError as exc:
        db.session.rollback()
        flash(str(APPOINTMENT_ERRORS.get(exc.code, exc.code)), "error")
    else:
        db.session.commit()
        flash(_("Appointment cancelled."), "success")
    return _back(referral.id)


@bp.route("/appointments/<int:appointment_id>/reschedule", methods=["GET", "POST"])
def reschedule(appointment_id: int):  # type: ignore[no-untyped-def]
    appointment, referral, contact = _appointment_or_404(appointment_id)
    if appointment.status not in ("scheduled", "missed"):
        abort(404)
    form = RescheduleForm()
    if request.method == "POST":
        when = form.validate_at(utcnow(), _tz())
        if when is not None:
            appointment_service.reschedule_appointment(appointment.id, when,
                                                       actor_id=current_user.id)
            db.session.commit()
            flash(_("Appointment moved."), "success")
            return redirect(url_for("contacts.referral", referral_id=referral.id))
        return render_template("contacts/reschedule.html", form=form,
                               appointment=appointment, referral=referral), 400
    local = appointment_service.as_utc(appointment.scheduled_at).astimezone(ZoneInfo(_tz()))
    form.appt_date.data, form.appt_time.data = local.date(), local.time()
    return render_template("contacts/reschedule.html", form=form, appointment=appointment,
                           referral=referral)


# --- coordinator: the referral cascade ----------------------------------------------------


@bp.get("/cascade")
@coordinator_required
def cascade():  # type: ignore[no-untyped-def]
    today = group_today()
    form = MonthForm(request.args)
    if not form.month.data:
        form.month.data = f"{today.year:04d}-{today.month:02d}"
    parsed = form.parsed()
    if parsed is None:
        return render_template("contacts/cascade.html", form=form, rows=None), 400
    year, month = parsed
    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    rows = service.referral_cascade(first, last)
    tests = result_service.cascade(g.group.id, first, date.fromordinal(last.toordinal() + 1))
    totals = service.CascadeRow("", *(sum(getattr(r, k) for r in rows) for k in
                                     ("referred", "booked", "completed", "declined", "lost")))
    prev_month = date.fromordinal(first.toordinal() - 1)
    next_month = date.fromordinal(last.toordinal() + 1)
    return render_template("contacts/cascade.html", form=form, rows=rows, totals=totals,
                           tests=tests,
                           first=first, prev=prev_month.strftime("%Y-%m"),
                           next=next_month.strftime("%Y-%m"))


# --- supervision: each peer educator's month (#20 item 8) ---------------------------------

SUPERVISION_PAGE_SIZE = 20


@bp.get("/supervision")
def supervision():  # type: ignore[no-untyped-def]
    """Coordinators: every peer educator's month against the month before, counts only.
    A peer educator sees their own line (the same page, limited to them)."""
    today = group_today()
    form = MonthForm(request.args)
    if not form.month.data:
        form.month.data = f"{today.year:04d}-{today.month:02d}"
    parsed = form.parsed()
    if parsed is None:
        return render_template("contacts/supervision.html", form=form, lines=None), 400
    months = supervision_service.Months.of(*parsed, _tz())
    after = request.args.get("after", type=int)
    if after is not None and not 0 < after < 2**63:
        after = None  # a cursor we did not make: start at the first page
    lines, next_after = supervision_service.people(
        months, only_user=None if _is_coordinator() else current_user.id, after=after,
        limit=SUPERVISION_PAGE_SIZE)
    supervision_service.fill(lines, months, today=today, now=utcnow(),
                             open_after_days=int(g.group.setting("followup_days")))
    return render_template(
        "contacts/supervision.html", form=form, lines=lines, months=months,
        measures=supervision_service.MEASURES, next_after=next_after, after=after,
        month=form.month.data, coordinator=_is_coordinator(),
        prev=months.prev_first.strftime("%Y-%m"), next=months.next_first.strftime("%Y-%m"),
        days=int(g.group.setting("followup_days")))
