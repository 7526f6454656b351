"""Routes: training lists and pages, planning, invitations, roll call, .ics files."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from .. import confirm
from ..access import coordinator_required
from ..extensions import db
from ..members.labels import ATTENDANCE_NAMES, MEMBER_ROLE_NAMES, TOPIC_NAMES
from ..models._types import utcnow
from ..models.members import ATTENDANCE_STATUSES
from ..services import members as members_svc
from ..services import trainings as svc
from . import bp
from .forms import InviteGroupForm, PlainForm, TrainingForm

PICK_PAGE_SIZE = 50


def _errors() -> dict:
    return {
        "cancelled": _("This training is cancelled."),
        "nobody_chosen": _("Please choose at least one member."),
        "unknown_member": _("Some of the chosen members are not in this group."),
        "over_capacity": _("Not enough places."),
        "capacity_below_invited": _("More members are already invited than this number of "
                                    "places."),
        "roll_call_closed": _("Roll call opens on the day of the training."),
        "bad_mark": _("Please choose attended, absent or excused."),
        "not_on_roster": _("Some of these members are not invited to this training."),
        "bad_duration": _("Please enter a number from %(low)s to %(high)s.", low=1,
                          high=svc.MAX_DURATION),
        "bad_capacity": _("Please enter a number from %(low)s to %(high)s.", low=1,
                          high=svc.MAX_CAPACITY),
        "bad_topic": _("Please choose one of the options."),
    }


def _error_text(exc: svc.TrainingError) -> str:
    if exc.code == "over_capacity":
        return _("Not enough places: %(capacity)s places, %(invited)s already invited, "
                 "%(chosen)s more chosen.", **exc.params)
    return _errors()[exc.code]


def _training_or_404(training_id: int):  # type: ignore[no-untyped-def]
    training = svc.get(training_id)
    if training is None:
        abort(404)
    return training


def _is_coordinator() -> bool:
    return g.membership.role == "coordinator"


@bp.app_template_global("local_time")
def local_time(moment):  # type: ignore[no-untyped-def]
    """A UTC datetime in the group's timezone (for the date and time inputs)."""
    return svc.utc_to_local(moment, g.group.timezone)


# --- lists and pages ----------------------------------------------------------------------


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    when = "past" if request.args.get("when") == "past" else "upcoming"
    now = utcnow()
    tz = g.group.timezone
    stmt = svc.past_query(now, tz) if when == "past" else svc.upcoming_query(now, tz)
    page = db.paginate(stmt, page=request.args.get("page", 1, type=int),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    me = members_svc.member_for_user(current_user.id)
    mine = svc.attendance_of(me.id)[:10] if me is not None else []
    return render_template("trainings/index.html", page=page, when=when, mine=mine, me=me)


@bp.get("/<int:training_id>")
def show(training_id: int):  # type: ignore[no-untyped-def]
    training = _training_or_404(training_id)
    me = members_svc.member_for_user(current_user.id)
    context = {
        "training": training,
        "my_mark": svc.mark_of(training.id, me.id) if me is not None else None,
        "form": PlainForm(formdata=None),
        "roll_call_open": svc.roll_call_open(training, utcnow(), g.group.timezone),
    }
    if _is_coordinator():
        # Other members' names are for coordinators; peer educators see only their own mark.
        context["roster"] = svc.roster(training.id)
        context["counts"] = svc.status_counts(training.id)
    return render_template("trainings/show.html", **context)


@bp.get("/<int:training_id>.ics")
def calendar(training_id: int):  # type: ignore[no-untyped-def]
    training = _training_or_404(training_id)
    description = str(TOPIC_NAMES.get(training.topic, ""))
    if training.facilitator:
        description += "\n" + _("Facilitator") + ": " + training.facilitator
    body = svc.ics(training, host=request.host.split(":")[0] or "harmnet",
                   summary=training.title, description=description)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="training-{training.id}.ics"'
    return response


# --- planning -----------------------------------------------------------------------------


def _values(form: TrainingForm) -> dict:
    return {
        "title": form.title.data,
        "topic": form.topic.data,
        "starts_at": svc.local_to_utc(form.day.data, form.at.data, g.group.timezone),
        "duration_minutes": form.duration_minutes.data,
        "location": form.location.data or "",
        "facilitator": form.facilitator.data or "",
        "capacity": form.capacity.data,
    }


@bp.route("/new", methods=["GET", "POST"])
@coordinator_required
def new():  # type: ignore[no-untyped-def]
    form = TrainingForm()
    if form.validate_on_submit():
        try:
            training = svc.create(**_values(form))
        except svc.TrainingError as exc:
            db.session.rollback()
            form.title.errors = [_error_text(exc)]
        else:
            db.session.commit()
            flash(_("Training saved. You can now invite members."), "success")
            return redirect(url_for("trainings.show", training_id=training.id))
    return render_template("trainings/form.html", form=form, training=None), (
        400 if form.errors else 200)


@bp.route("/<int:training_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit(training_id: int):  # type: ignore[no-untyped-def]
    training = _training_or_404(training_id)
    if training.status == "cancelled":
        flash(_("This training is cancelled."), "error")
        return redirect(url_for("trainings.show", training_id=training.id))
    form = TrainingForm(obj=training if request.method == "GET" else None)
    if request.method == "GET":
        local = svc.utc_to_local(training.starts_at, g.group.timezone)
        form.day.data, form.at.data = local.date(), local.time().replace(second=0,
                                                                          microsecond=0)
    if form.validate_on_submit():
        try:
            svc.update_training(training, **_values(form))
        except svc.TrainingError as exc:
            db.session.rollback()
            field = form.capacity if exc.code == "capacity_below_invited" else form.title
            field.errors = [_error_text(exc)]
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("trainings.show", training_id=training.id))
    return render_template("trainings/form.html", form=form, training=training), (
        400 if form.errors else 200)


@bp.post("/<int:training_id>/cancel")
@coordinator_required
def cancel(training_id: int):  # type: ignore[no-untyped-def]
    training = _training_or_404(training_id)
    if training.status != "cancelled" and PlainForm().validate_on_submit() \
            and not confirm.confirmed():
        return confirm.ask(
            title=_("Cancel the training"),
            question=_("Cancel “%(title)s”? Reminders not yet sent are stopped and "
                       "invited members see it as cancelled. This cannot be undone.",
                       title=training.title),
            confirm_label=_("Yes, cancel the training"), keep_label=_("No, keep it"),
            back_url=url_for("trainings.show", training_id=training.id))
    if PlainForm().validate_on_submit():
        svc.cancel(training)
        db.session.commit()
        flash(_("Training cancelled."), "success")
    return redirect(url_for("trainings.show", training_id=training.id))


# --- invitations --------------------------------------------------------------------------


def _invite_page(training, group_form, status=200, error=None):  # type: ignore[no-untyped-def]
    q = request.values.get("q", "")[:80]
    role = request.values.get("role", "")
    stmt = members_svc.list_query(q, role, "active")
    page = db.paginate(stmt, page=request.args.get("page", 1, type=int),
                       per_page=PICK_PAGE_SIZE, error_out=False)
    invited = {r.member_id for r in svc.roster(training.id)}
    return render_template(
        "trainings/invite.html", training=training, group_form=group_form,
        pick_form=PlainForm(formdata=None), page=page, q=q, role=role, invited=invited,
        roles=MEMBER_ROLE_NAMES, error=error, invited_count=len(invited),
    ), status


@bp.get("/<int:training_id>/invite")
@coordinator_required
def invite(training_id: int):  # type: ignore[no-untyped-def]
    training = _training_or_404(training_id)
    return _invite_page(training, InviteGroupForm(formdata=None))


def _do_invite(training, member_ids):  # type: ignore[no-untyped-def]
    try:
        added = svc.invite(training, member_ids)
    except svc.TrainingError as exc:
        db.session.rollback()
        return _error_text(exc)
    db.session.commit()
    flash(_("%(n)s members invited.", n=added), "success")
    return None


@bp.post("/<int:training_id>/invite/group")
@coordinator_required
def invite_group(training_id: int):  # type: ignore[no-untyped-def]
    training = _training_or_404(training_id)
    form = InviteGroupForm()
    if not form.validate_on_submit():
        return _invite_page(training, form, 400)
    ids = svc.matching_member_ids(form.roles.data, form.statuses.data)
    error = _do_invite(training, ids)
    if error:
        return _invite_page(training, form, 400, error)
    return redirect(url_for("trainings.show", training_id=training.id))


@bp.post("/<int:training_id>/invite/pick")
@coordinator_required
def invite_pick(training_id: int):  # type: ignore[no-untyped-def]
    training = _training_or_404(training_id)
    group_form = InviteGroupForm(formdata=None)
    if not PlainForm().validate_on_submit():
        return _invite_page(training, group_form, 400, _("This form has expired. "
                                                          "Please submit it again."))
    raw = request.form.getlist("member_id")
    if len(raw) > 1000 or not all(v.isdigit() and len(v) < 19 for v in raw):
        return _invite_page(training, group_form, 400,
                            _("Some of the chosen members are not in this group."))
    error = _do_invite(training, [int(v) for v in raw])
    if error:
        return _invite_page(training, group_form, 400, error)
    return redirect(url_for("trainings.show", training_id=training.id))


@bp.post("/<int:training_id>/uninvite/<int:member_id>")
@coordinator_required
def uninvite(training_id: int, member_id: int):  # type: ignore[no-untyped-def]
    training = _training_or_404(training_id)
    if not PlainForm().validate_on_submit():
        return redirect(url_for("trainings.show", training_id=training.id))
    if not confirm.confirmed():
        member = members_svc.get(member_id)
        if member is None or svc.mark_of(training.id, member_id) != "invited":
            abort(404)
        return confirm.ask(
            title=_("Withdraw the invitation"),
            question=_("Withdraw %(alias)s's invitation to “%(title)s”? Their reminders "
                       "for it are stopped.", alias=member.alias, title=training.title),
            confirm_label=_("Yes, withdraw the invitation"), keep_label=_("No, keep it"),
            back_url=url_for("trainings.show", training_id=training.id))
    if not svc.uninvite(training, member_id):
        abort(404)
    db.session.commit()
    flash(_("Invitation withdrawn."), "success")
    return redirect(url_for("trainings.show", training_id=training.id))


# --- roll call ----------------------------------------------------------------------------


@bp.route("/<int:training_id>/roll-call", methods=["GET", "POST"])
@coordinator_required
def roll_call(training_id: int):  # type: ignore[no-untyped-def]
    training = _training_or_404(training_id)
    form = PlainForm()
    error = None
    marks: dict[int, str] = {}
    if request.method == "POST":
        if not form.validate_on_submit():
            error = _("This form has expired. Please submit it again.")
        else:
            for key, value in request.form.items():
                if not key.startswith("m-"):
                    continue
                if not key[2:].isdigit() or len(key) > 20 or value not in ATTENDANCE_STATUSES:
                    error = _errors()["bad_mark"]
                    break
                marks[int(key[2:])] = value
        if error is None:
            try:
                svc.record_roll_call(training, marks, now=utcnow(), tz=g.group.timezone)
            except svc.TrainingError as exc:
                db.session.rollback()
                error = _error_text(exc)
            else:
                db.session.commit()
                flash(_("Roll call saved."), "success")
                return redirect(url_for("trainings.show", training_id=training.id))
    rows = svc.roster(training.id)
    if error and marks:
        # Show what the user chose, so nothing they tapped is lost.
        for row in rows:
            row.status = marks.get(row.member_id, row.status)
    return render_template(
        "trainings/roll_call.html", training=training, rows=rows, form=PlainForm(formdata=None),
        error=error, marks=[s for s in ATTENDANCE_STATUSES if s != "invited"],
        names=ATTENDANCE_NAMES,
        is_open=svc.roll_call_open(training, utcnow(), g.group.timezone),
    ), (400 if error else 200)
