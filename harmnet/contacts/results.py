"""Routes: the outcome of a referral to testing, a self-test kit's reported result, and the
linkage follow-up ("linked to treatment?", or "started PrEP?").

Who may act follows the contact: a peer educator on their own contacts (another person's is
a 404, as if it did not exist), a coordinator on the group's. A settled result (past the
peer educator's edit window, nothing pending) and a closed follow-up are corrected by the
coordinator: a peer educator gets 403.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..services import results as service
from . import bp
from .forms import LinkageForm, SelfTestForm, TestResultForm, add_error
from .routes import contact_or_404, group_today, member_role, referral_or_404

RESULT_ERRORS = {
    "wrong_service": _l("A test result can only be recorded for a referral to HIV testing,"
                        " hepatitis B/C testing or STI care."),
    "future_date": _l("The date cannot be in the future."),
    "before_referral": _l("The test date is before the referral."),
    "before_contact": _l("The date is before the contact that gave the kit."),
    "result_needed": _l("Choose a result."),
    "confirm_hiv_only": _l("A confirmatory result is recorded for an HIV test only."),
    "confirm_needs_reactive": _l("A confirmatory result follows a reactive test result only."),
    "confirm_before_test": _l("The confirmation date is before the test date."),
    "prep_needs_non_reactive": _l("A PrEP follow-up is for a client whose HIV result is"
                                  " non-reactive."),
    "no_kit": _l("No HIV self-test kit was given at this contact."),
    "no_linkage": _l("This result has no follow-up to answer."),
    "unknown_status": _l("Choose an answer."),
    "start_needed": _l("Enter the date treatment or PrEP started."),
    "start_before_result": _l("The start date is before the result that opened this"
                              " follow-up."),
}


def _fail(form, exc: service.ResultError) -> None:  # type: ignore[no-untyped-def]
    db.session.rollback()
    add_error(getattr(form, exc.field), RESULT_ERRORS.get(exc.code, exc.code))


@bp.route("/referrals/<int:referral_id>/result", methods=["GET", "POST"])
def referral_result(referral_id: int):  # type: ignore[no-untyped-def]
    referral, contact = referral_or_404(referral_id)
    row = service.referral_result(referral.id)
    if not service.can_change_result(row, member_role()):
        abort(403)
    test = service.test_of(referral.service)
    form = TestResultForm()
    if request.method == "GET":
        if row is not None:
            form.tested.data = "yes" if row.tested else "no"
            form.tested_on.data, form.result.data = row.tested_on, row.result
            form.confirm_result.data, form.confirmed_on.data = row.confirm_result, row.confirmed_on
            form.prep.data = row.linkage == "prep"
        else:
            form.tested.data, form.tested_on.data = "yes", group_today()
        status = 200
    else:
        if form.validate():
            try:
                service.record_referral_outcome(
                    referral, tested=form.tested.data == "yes", tested_on=form.tested_on.data,
                    result=form.result.data or None,
                    confirm_result=form.confirm_result.data or None,
                    confirmed_on=form.confirmed_on.data, prep=bool(form.prep.data),
                    actor_id=current_user.id, today=group_today())
            except service.ResultError as exc:
                _fail(form, exc)
            else:
                db.session.commit()
                flash(_("Test result saved."), "success")
                return redirect(url_for("contacts.referral", referral_id=referral.id))
        status = 400
    return render_template("contacts/result.html", form=form, referral=referral,
                           contact=contact, test=test, row=row), status


@bp.route("/<int:contact_id>/self-test", methods=["GET", "POST"])
def self_test(contact_id: int):  # type: ignore[no-untyped-def]
    contact = contact_or_404(contact_id)
    row = service.self_test_result(contact.id)
    if not service.can_change_result(row, member_role()):
        abort(403)
    form = SelfTestForm()
    if request.method == "GET":
        form.reported_on.data = row.tested_on if row else group_today()
        form.result.data = row.result if row else None
        status = 200
    else:
        if form.validate():
            try:
                service.record_self_test(contact, reported_on=form.reported_on.data,
                                         result=form.result.data or None,
                                         actor_id=current_user.id, today=group_today())
            except service.ResultError as exc:
                _fail(form, exc)
            else:
                db.session.commit()
                flash(_("Self-test result saved."), "success")
                return redirect(url_for("contacts.show", contact_id=contact.id))
        status = 400
    return render_template("contacts/self_test.html", form=form, contact=contact,
                           row=row), status


@bp.route("/results/<int:result_id>/linkage", methods=["GET", "POST"])
def linkage(result_id: int):  # type: ignore[no-untyped-def]
    found = service.get_result(result_id)
    if found is None:
        abort(404)
    row, contact = found
    contact_or_404(contact.id)  # another peer educator's contact: 404
    if row.linkage is None:
        abort(404)
    if not service.can_change_linkage(row, member_role()):
        abort(403)
    form = LinkageForm()
    if request.method == "GET":
        form.status.data = "linked" if row.linkage_status == "open" else row.linkage_status
        form.started_on.data = row.linkage_on
        status = 200
    else:
        if form.validate():
            try:
                service.record_linkage(row, form.status.data, form.started_on.data,
                                       actor_id=current_user.id, today=group_today())
            except service.ResultError as exc:
                _fail(form, exc)
            else:
                db.session.commit()
                flash(_("Follow-up saved."), "success")
                # A closed follow-up is the coordinator's to change: back to the list.
                return redirect(url_for("contacts.followups"))
        status = 400
    return render_template("contacts/linkage.html", form=form, row=row, contact=contact,
                           today=group_today()), status
