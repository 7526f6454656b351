"""Routes: member list and profile, status, phone reveal, login link, import, export, overview."""

from __future__ import annotations

import csv
import io
from datetime import date

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
from werkzeug.exceptions import RequestEntityTooLarge

from ..access import coordinator_required
from ..extensions import db
from ..models._types import utcnow
from ..security import mask_phone
from ..services import accounts, member_import, trainings
from ..services import members as svc
from . import bp
from .forms import (
    ConfirmForm,
    ConfirmImportForm,
    ExportForm,
    ImportForm,
    LinkLoginForm,
    MemberForm,
    NewMemberForm,
    StatusForm,
)
from .labels import (
    ATTENDANCE_NAMES,
    COLUMN_NAMES,
    GENDER_NAMES,
    MEMBER_ROLE_NAMES,
    MEMBER_STATUS_NAMES,
    TOPIC_NAMES,
    TRAINING_STATUS_NAMES,
    import_problem_text,
    name_of,
)

MEMBER_ERRORS = {
    "date_in_future": lambda: _("The date cannot be in the future."),
    "before_joined": lambda: _("The date cannot be before the member joined."),
    "bad_status": lambda: _("Please choose one of the options."),
    "bad_role": lambda: _("Please choose one of the options."),
    "bad_gender": lambda: _("Please choose one of the options."),
}


# --- template filters used by both members and trainings ---------------------------------

@bp.app_template_filter("member_role")
def _member_role(code: str) -> str:
    return name_of(MEMBER_ROLE_NAMES, code)


@bp.app_template_filter("member_status")
def _member_status(code: str) -> str:
    return name_of(MEMBER_STATUS_NAMES, code)


@bp.app_template_filter("gender_name")
def _gender(code: str | None) -> str:
    return name_of(GENDER_NAMES, code)


@bp.app_template_filter("topic_name")
def _topic(code: str) -> str:
    return name_of(TOPIC_NAMES, code)


@bp.app_template_filter("training_status")
def _training_status(code: str) -> str:
    return name_of(TRAINING_STATUS_NAMES, code)


@bp.app_template_filter("attendance_name")
def _attendance(code: str) -> str:
    return name_of(ATTENDANCE_NAMES, code)


@bp.app_template_filter("mask_phone")
def _mask_phone(phone: str | None) -> str:
    return mask_phone(phone)


@bp.app_template_filter("hours")
def _hours(minutes: int) -> str:
    from flask_babel import format_decimal

    return format_decimal(round(minutes / 60, 1))


# --- list and profile ---------------------------------------------------------------------


def _member_or_404(member_id: int):  # type: ignore[no-untyped-def]
    member = svc.get(member_id)
    if member is None:
        abort(404)
    return member


@bp.get("/")
@coordinator_required
def index():  # type: ignore[no-untyped-def]
    q = request.args.get("q", "")[:80]
    role = request.args.get("role", "")
    status = request.args.get("status", "")
    page = db.paginate(
        svc.list_query(q, role, status),
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
        max_per_page=100,
        error_out=False,
    )
    return render_template("members/index.html", page=page, q=q, role=role, status=status,
                           roles=MEMBER_ROLE_NAMES, statuses=MEMBER_STATUS_NAMES)


def _form_values(form: MemberForm) -> dict:
    return {
        "alias": form.alias.data,
        "role_in_group": form.role_in_group.data,
        "joined_on": form.joined_on.data,
        "gender": form.gender.data or None,
        "birth_year": form.birth_year.data,
        "reminder_consent": bool(form.reminder_consent.data),
        "notes": form.notes.data or "",
    }


@bp.route("/new", methods=["GET", "POST"])
@coordinator_required
def new():  # type: ignore[no-untyped-def]
    form = NewMemberForm()
    if form.validate_on_submit():
        values = _form_values(form)
        member = svc.create(status=form.status.data,
                            phone=svc.normalise_phone(form.phone.data or "") , **values)
        db.session.commit()
        flash(_("Member added."), "success")
        return redirect(url_for("members.show", member_id=member.id))
    if request.method == "GET" and not form.joined_on.data:
        form.joined_on.data = date.today()
    return render_template("members/form.html", form=form, member=None), (
        400 if form.errors else 200)


def _profile(member, **extra):  # type: ignore[no-untyped-def]
    return render_template(
        "members/show.html",
        member=member,
        history=svc.training_history(member.id),
        minutes=svc.training_minutes(member.id),
        link=svc.login_link(member.id),
        status_form=extra.pop("status_form", None) or StatusForm(formdata=None),
        link_form=LinkLoginForm(formdata=None),
        confirm_form=ConfirmForm(formdata=None),
        **extra,
    )


@bp.get("/<int:member_id>")
@coordinator_required
def show(member_id: int):  # type: ignore[no-untyped-def]
    return _profile(_member_or_404(member_id))


@bp.route("/<int:member_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit(member_id: int):  # type: ignore[no-untyped-def]
    member = _member_or_404(member_id)
    form = MemberForm(obj=member if request.method == "GET" else None)
    form._has_phone = bool(member.phone)  # consent may stand on the phone already stored
    if request.method == "GET":
        form.phone.data = ""  # never put the stored phone in a page without an audited reveal
        form.gender.data = member.gender or ""
    if form.validate_on_submit():
        svc.update(member, phone=svc.normalise_phone(form.phone.data or ""),
                   remove_phone=bool(form.remove_phone.data), **_form_values(form))
        db.session.commit()
        flash(_("Changes saved."), "success")
        return redirect(url_for("members.show", member_id=member.id))
    return render_template("members/form.html", form=form, member=member), (
        400 if form.errors else 200)


@bp.post("/<int:member_id>/status")
@coordinator_required
def change_status(member_id: int):  # type: ignore[no-untyped-def]
    member = _member_or_404(member_id)
    form = StatusForm()
    if form.validate_on_submit():
        try:
            svc.change_status(member, form.status.data, form.on.data)
        except svc.MemberError as exc:
            db.session.rollback()
            form.on.errors = [MEMBER_ERRORS[exc.code]()]
        else:
            db.session.commit()
            flash(_("Status changed."), "success")
            return redirect(url_for("members.show", member_id=member.id))
    return _profile(member, status_form=form), 400


@bp.post("/<int:member_id>/phone")
@coordinator_required
def show_phone(member_id: int):  # type: ignore[no-untyped-def]
    member = _member_or_404(member_id)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("members.show", member_id=member.id))
    phone = svc.reveal_phone(member)
    db.session.commit()
    return _profile(member, revealed_phone=phone)


@bp.post("/<int:member_id>/invite")
@coordinator_required
def invite_login(member_id: int):  # type: ignore[no-untyped-def]
    member = _member_or_404(member_id)
    form = LinkLoginForm()
    link = svc.login_link(member.id)
    if link.login is not None:
        flash(_("This member already has a login."), "info")
        return redirect(url_for("members.show", member_id=member.id))
    if not form.validate_on_submit():
        return redirect(url_for("members.show", member_id=member.id))
    created = accounts.invite(g.group.id, form.role.data, member.alias,
                              invited_by=current_user.id, member_id=member.id)
    db.session.commit()
    url = url_for("auth.accept_invitation", token=created.token, _external=True)
    # Shown once, on this response only: never stored, logged or redirected to.
    return render_template("group/invitation_link.html", link=url, invitation=created.invitation)


# --- import -------------------------------------------------------------------------------


def _import_page(form, parsed=None, token=None, status=200):  # type: ignore[no-untyped-def]
    problems = []
    if parsed is not None:
        problems = [
            {
                "row": p.row,
                "column": str(COLUMN_NAMES.get(p.column, "")) if p.column else "",
                "letter": p.letter or "",
                "message": import_problem_text(p.code, p.params),
            }
            for p in parsed.problems
        ]
    confirm = ConfirmImportForm(formdata=None, token=token) if token else None
    return render_template(
        "members/import.html", form=form, parsed=parsed, problems=problems, confirm=confirm,
        columns=COLUMN_NAMES,
    ), status


@bp.route("/import", methods=["GET", "POST"])
@coordinator_required
def import_members():  # type: ignore[no-untyped-def]
    form = ImportForm()
    if not form.validate_on_submit():
        return _import_page(form, status=400 if form.errors else 200)
    upload = form.file.data
    data = upload.read(current_app.config["MAX_CONTENT_LENGTH"] + 1)
    filename = upload.filename or ""
    parsed = member_import.parse(data, filename)
    token = None
    if parsed.ok:
        token = member_import.store_upload(data, filename, group_id=g.group.id,
                                           user_id=current_user.id)
    db.session.rollback()  # a preview changes nothing
    return _import_page(form, parsed, token, status=200 if parsed.ok else 400)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error):  # type: ignore[no-untyped-def]
    # Raised while the body is read (by the CSRF check, before any view): on the import
    # page, say what went wrong next to the file field instead of a bare error page.
    membership = g.get("membership")
    if (request.endpoint != "members.import_members" or membership is None
            or membership.role != "coordinator"):
        return render_template("errors/generic.html", code=413), 413
    form = ImportForm(formdata=None)
    form.file.errors = [_("The file is too large (at most %(mb)s MB).",
                          mb=current_app.config["MAX_CONTENT_LENGTH"] // 2**20)]
    return _import_page(form, status=413)


@bp.post("/import/confirm")
@coordinator_required
def confirm_import():  # type: ignore[no-untyped-def]
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        flash(_("This import has expired. Please upload the file again."), "error")
        return redirect(url_for("members.import_members"))
    owner = {"group_id": g.group.id, "user_id": current_user.id}
    stored = member_import.load_upload(form.token.data, **owner)
    if stored is None:
        flash(_("This import has expired. Please upload the file again."), "error")
        return redirect(url_for("members.import_members"))
    data, filename = stored
    parsed = member_import.parse(data, filename)  # checked again: the group may have changed
    if not parsed.ok:
        db.session.rollback()
        return _import_page(ImportForm(formdata=None), parsed, None, status=400)
    count = member_import.import_members(parsed, skip_duplicates=bool(form.skip_duplicates.data))
    db.session.commit()
    member_import.discard_upload(form.token.data, **owner)
    flash(_("%(n)s members imported.", n=count), "success")
    return redirect(url_for("members.index"))


@bp.get("/import/template.csv")
@coordinator_required
def import_template():  # type: ignore[no-untyped-def]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(COLUMN_NAMES[c]) for c in member_import.COLUMNS])
    writer.writerow(["Hoa", str(MEMBER_ROLE_NAMES["peer_educator"]),
                     str(MEMBER_STATUS_NAMES["active"]), "2024-03-01", str(GENDER_NAMES["F"]),
                     "1995", "", _("No"), ""])
    return _download(("\ufeff" + buffer.getvalue()).encode(), "members-template.csv",
                     "text/csv; charset=utf-8")


# --- export -------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """Plain cell values; text that a spreadsheet would run as a formula is defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        stripped = value.replace(" ", "")
        if not (stripped[:1] == "+" and stripped[1:].isdigit()):  # +84... is a phone number
            return "'" + value
    return value


def _export_table(rows: list[dict], include_phone: bool) -> list[list[object]]:
    columns = list(svc.EXPORT_COLUMNS)
    if include_phone:
        columns.insert(columns.index("birth_year") + 1, "phone")
    names = {"role_in_group": _member_role, "status": _member_status, "gender": _gender}
    table: list[list[object]] = [[str(COLUMN_NAMES[c]) for c in columns]]
    for row in rows:
        table.append([
            _cell(names[c](row[c]) if c in names and row[c] else row[c]) for c in columns
        ])
    return table


def _download(body: bytes, filename: str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/export", methods=["GET", "POST"])
@coordinator_required
def export():  # type: ignore[no-untyped-def]
    form = ExportForm()
    if not form.validate_on_submit():
        return render_template("members/export.html", form=form), (400 if form.errors else 200)
    include_phone = bool(form.include_phone.data)
    rows = svc.export_rows(include_phone=include_phone, status=form.status.data or "")
    table = _export_table(rows, include_phone)
    svc.record_export(form.format.data, len(rows), include_phone)
    db.session.commit()
    stamp = utcnow().strftime("%Y%m%d")
    if form.format.data == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet()
        for line in table:
            sheet.append(line)
        buffer = io.BytesIO()
        workbook.save(buffer)
        return _download(buffer.getvalue(), f"members-{stamp}.xlsx",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    out = io.StringIO()
    csv.writer(out).writerows(table)
    # The BOM lets Excel open the file as UTF-8 (Vietnamese letters intact).
    return _download(("\ufeff" + out.getvalue()).encode(), f"members-{stamp}.csv",
                     "text/csv; charset=utf-8")


# --- coordinator overview -----------------------------------------------------------------


@bp.get("/overview")
@coordinator_required
def overview():  # type: ignore[no-untyped-def]
    now = utcnow()
    tz = g.group.timezone
    start, end = trainings.month_bounds(trainings.utc_to_local(now, tz).date(), tz)
    board = svc.dashboard(start, end, now=now)
    return render_template("members/overview.html", board=board, roles=MEMBER_ROLE_NAMES)
