"""Routes: reminders needing attention (retry), the outbox, the group's reminder settings."""

from __future__ import annotations

from datetime import datetime

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import coordinator_required
from ..extensions import db
from ..keyset import KeysetPage, keyset_page, parse_cursor
from ..models.reminders import OUTBOX_OUTCOMES, REMINDER_STATUSES, OutboxMessage, Reminder
from ..security import mask_phone
from ..services import reminders
from . import bp
from .forms import OutcomeForm, RetryForm, SettingsForm


def _page_of(stmt, key, ident) -> KeysetPage:  # type: ignore[no-untyped-def]
    """A keyset page of a list that grows with the group's history (no count of it)."""
    return keyset_page(
        stmt, key, ident, current_app.config["PAGE_SIZE"],
        before=parse_cursor(request.args.get("before"), datetime),
        after=parse_cursor(request.args.get("after"), datetime),
        fetch=lambda q: list(db.session.scalars(q)),
        key_of=lambda row: (getattr(row, key.key), row.id))


def mask_recipient(value: str | None) -> str:
    if not value:
        return ""
    if "@" in value:
        name, _sep, domain = value.rpartition("@")
        return f"{name[:1]}•••@{domain}"
    return mask_phone(value)


def status_name(code: str) -> str:
    names = {
        "pending": _("Waiting"),
        "sending": _("Sending"),
        "sent": _("Sent"),
        "failed": _("Failed"),
        "cancelled": _("Cancelled"),
        "skipped": _("Not sent"),
        "uncertain": _("Uncertain"),
    }
    return names.get(code, code)


def reason_text(code: str | None) -> str:
    """A coordinator's words for a reason code (never more than the code holds)."""
    if not code:
        return ""
    head, _sep, rest = code.partition(":")
    if head == "gave_up":
        return _("Gave up after several attempts: %(reason)s", reason=reason_text(rest))
    if head == "retry":
        return _("Will try again: %(reason)s", reason=reason_text(rest))
    fixed = {
        "quiet_hours": _("Quiet hours: the appointment starts before they end."),
        "quiet_hours_postponed": _("Held back by quiet hours."),
        "daily_sms_cap": _("The daily SMS limit was reached and the appointment comes "
                           "before the next day's sending."),
        "daily_sms_cap_postponed": _("Held back: the daily SMS limit was reached."),
        "too_late": _("Too late: the appointment had started or was about to."),
        "superseded": _("A later reminder of the same appointment was sent instead."),
        "appointment_cancelled": _("The appointment was cancelled."),
        "appointment_closed": _("The appointment is no longer open."),
        "training_cancelled": _("The training was cancelled."),
        "training_held": _("The training has already taken place."),
        "not_invited": _("The member is no longer invited."),
        "member_inactive": _("The member is not active."),
        "no_consent": _("The person no longer wants reminders."),
        "no_contact": _("There is no phone number or e-mail address any more."),
        "target_missing": _("The appointment or training no longer exists."),
        "rescheduled": _("The appointment was moved."),
        "sensitive_text": _("The text contained a word that could expose the person; "
                            "change the template (or the group name in it)."),
        "template_invalid": _("The template could not be filled in; check it."),
        "worker_lost": _("The sending process stopped mid-way. The message may or may "
                         "not have arrived."),
        "worker_lost_not_received": _("The sending process stopped; the gateway had "
                                      "not received it, so it was sent again."),
        "smtp_interrupted": _("The mail server connection broke mid-message. It may "
                              "or may not have arrived."),
        "timeout": _("The gateway did not answer in time."),
        "connection_error": _("The gateway could not be reached."),
        "connection_lost": _("The connection to the gateway was lost."),
        "smtp_connect": _("The mail server could not be reached."),
        "smtp_session": _("The mail server refused the session."),
        "smtp_auth": _("The mail server refused the sign-in."),
        "smtp_refused": _("The mail server refused the address."),
        "not_reached": _("In the outbox: the coordinator could not reach the person."),
    }
    if code in fixed:
        return fixed[code]
    if head.startswith("http_"):
        number = head[5:]
        if rest == "invalid_number":
            return _("The gateway refused the number as invalid.")
        return _("The gateway answered with error %(code)s.", code=number)
    if head.startswith("smtp_"):
        return _("The mail server answered with error %(code)s.", code=head[5:])
    return code


@bp.context_processor
def _helpers() -> dict:
    return {"reminder_status_name": status_name, "reminder_reason": reason_text,
            "mask_recipient": mask_recipient, "outcome_name": outcome_name,
            "retryable": reminders.retryable}


def outcome_name(code: str | None) -> str:
    """An outbox message's state, as the outbox shows it."""
    if code == "passed_on":
        return _("Passed on")
    if code == "unreachable":
        return _("Could not reach")
    return _("To pass on")


@bp.get("/")
@coordinator_required
def index():  # type: ignore[no-untyped-def]
    page = _page_of(reminders.problems_stmt(), Reminder.send_at, Reminder.id)
    return render_template("reminders/index.html", page=page,
                           counts=reminders.status_counts(), statuses=REMINDER_STATUSES,
                           count_cap=reminders.STATUS_COUNT_CAP,
                           form=RetryForm(formdata=None))


@bp.get("/outbox")
@coordinator_required
def outbox():  # type: ignore[no-untyped-def]
    show = "all" if request.args.get("show") == "all" else "waiting"
    page = _page_of(reminders.outbox_stmt(waiting=show == "waiting"),
                    OutboxMessage.created_at, OutboxMessage.id)
    return render_template("reminders/outbox.html", page=page, show=show)


def _message_or_404(message_id: int) -> OutboxMessage:
    message = reminders.outbox_message(message_id)
    if message is None:
        abort(404)
    return message


def _message_page(message: OutboxMessage, *, recipient: str | None = None,
                  revealed: bool = False, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("reminders/message.html", m=message, recipient=recipient,
                           revealed=revealed, form=OutcomeForm(formdata=None)), status


@bp.get("/outbox/<int:message_id>")
@coordinator_required
def message(message_id: int):  # type: ignore[no-untyped-def]
    return _message_page(_message_or_404(message_id))


@bp.post("/outbox/<int:message_id>/recipient")
@coordinator_required
def reveal(message_id: int):  # type: ignore[no-untyped-def]
    """Show the recipient on this one answer (audited, as a member's phone is)."""
    message = _message_or_404(message_id)
    if not OutcomeForm().validate_on_submit():
        flash(_("This form has expired. Please submit it again."), "error")
        return redirect(url_for("reminders.message", message_id=message.id))
    recipient = reminders.reveal_recipient(message)
    db.session.commit()
    return _message_page(message, recipient=recipient, revealed=True)


@bp.post("/outbox/<int:message_id>/outcome")
@coordinator_required
def outcome(message_id: int):  # type: ignore[no-untyped-def]
    message = _message_or_404(message_id)
    form = OutcomeForm()
    if not form.validate_on_submit() or form.outcome.data not in OUTBOX_OUTCOMES:
        flash(_("This form has expired. Please submit it again."), "error")
        return redirect(url_for("reminders.message", message_id=message.id))
    if reminders.record_outbox_outcome(message.id, form.outcome.data,
                                       actor_id=current_user.id):
        db.session.commit()
        flash(_("Marked as passed on.") if form.outcome.data == "passed_on" else
              _("Marked as not reached. The reminder is listed under “Needs attention”."),
              "success")
    else:
        flash(_("This message was already marked."), "info")
    return redirect(url_for("reminders.outbox"))


@bp.post("/<int:reminder_id>/retry")
@coordinator_required
def retry(reminder_id: int):  # type: ignore[no-untyped-def]
    if not RetryForm().validate_on_submit():
        flash(_("This form has expired. Please submit it again."), "error")
        return redirect(url_for("reminders.index"))
    if not reminders.retry(reminder_id, actor_id=current_user.id):
        abort(404)
    db.session.commit()
    flash(_("The reminder will be sent within a minute."), "success")
    return redirect(url_for("reminders.index"))


@bp.route("/settings", methods=["GET", "POST"])
@coordinator_required
def settings():  # type: ignore[no-untyped-def]
    current = reminders.settings_view(g.group)
    form = SettingsForm()
    if request.method == "GET":
        form.lead_hours.data = ", ".join(str(h) for h in current["lead_hours"])
        form.quiet_start.data = current["quiet_start"]
        form.quiet_end.data = current["quiet_end"]
        form.daily_sms_cap.data = current["daily_sms_cap"]
        for kind, langs in current["templates"].items():
            for lang, text in langs.items():
                getattr(form, f"{kind}_{lang}").data = text
    if form.validate_on_submit():
        reminders.update_settings(
            g.group,
            lead=form.lead_hours.parsed,  # type: ignore[attr-defined]
            quiet_start=form.quiet_start.data,
            quiet_end=form.quiet_end.data,
            daily_sms_cap=form.daily_sms_cap.data,
            templates={kind: {lang: getattr(form, f"{kind}_{lang}").data
                              for lang in ("vi", "en")}
                       for kind in ("appointment", "training")},
            actor_id=current_user.id,
        )
        db.session.commit()
        flash(_("Reminder settings saved."), "success")
        return redirect(url_for("reminders.settings"))
    return render_template("reminders/settings.html", form=form), (400 if form.errors else 200)
