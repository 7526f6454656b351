"""Routes: the admin overview and creation forms."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import tenancy
from ..access import admin_required
from ..extensions import db
from ..forms import BLANK
from ..services import accounts, audit, org
from . import bp
from .forms import CoordinatorInviteForm, DepartmentForm, GroupForm

ORG_ERRORS = {
    "code_taken": lambda: _("This code is already used."),
    "slug_taken": lambda: _("This short name is already used."),
    "unknown_parent": lambda: _("Please choose a department from the list."),
    "unknown_department": lambda: _("Please choose a department from the list."),
    "bad_year_start": lambda: _("Please choose a month from the list."),
}


def _forms():  # type: ignore[no-untyped-def]
    departments = org.all_departments()
    groups = org.all_groups()
    dept_choices = [(d.code, f"{d.name} ({d.code})") for d in departments]
    dform = DepartmentForm(prefix="d")
    dform.parent.choices = [("", _("(none: top level)")), *dept_choices]
    gform = GroupForm(prefix="g")
    gform.department.choices = [BLANK, *dept_choices]
    cform = CoordinatorInviteForm(prefix="c")
    cform.group.choices = [BLANK, *((g.slug, f"{g.name} ({g.slug})") for g in groups)]
    return departments, groups, dform, gform, cform


def _render(departments, groups, dform, gform, cform, status=200, link=None):  # type: ignore[no-untyped-def]
    return render_template(
        "admin/index.html", departments=departments, groups=groups, dform=dform, gform=gform,
        cform=cform, link=link,
    ), status


@bp.get("/")
@admin_required
def index():  # type: ignore[no-untyped-def]
    return _render(*_forms())


@bp.post("/departments")
@admin_required
def create_department():  # type: ignore[no-untyped-def]
    departments, groups, dform, gform, cform = _forms()
    if dform.validate_on_submit():
        try:
            org.create_department(dform.code.data, dform.name.data, dform.parent.data or None)
        except org.OrgError as exc:
            db.session.rollback()
            dform.code.errors.append(ORG_ERRORS[exc.code]())
        else:
            db.session.commit()
            flash(_("Department created."), "success")
            return redirect(url_for("admin.index"))
    return _render(departments, groups, dform, gform, cform, 400)


@bp.post("/groups")
@admin_required
def create_group():  # type: ignore[no-untyped-def]
    departments, groups, dform, gform, cform = _forms()
    if gform.validate_on_submit():
        try:
            org.create_group(gform.slug.data, gform.name.data, gform.kind.data,
                             gform.department.data, gform.area.data or "",
                             int(gform.year_start.data) if gform.year_start.data else None)
        except org.OrgError as exc:
            db.session.rollback()
            gform.slug.errors.append(ORG_ERRORS[exc.code]())
        else:
            db.session.commit()
            flash(_("Group created."), "success")
            return redirect(url_for("admin.index"))
    return _render(departments, groups, dform, gform, cform, 400)


@bp.post("/coordinators")
@admin_required
def invite_coordinator():  # type: ignore[no-untyped-def]
    departments, groups, dform, gform, cform = _forms()
    if cform.validate_on_submit():
        group = next(g for g in groups if g.slug == cform.group.data)
        with tenancy.group_context(group.id):
            # The admin sees no group data: a group that has a coordinator invites its own
            # people, else an admin could invite themselves in and read everything.
            if accounts.active_coordinators(group.id):
                audit.record("invitation.refused_by_admin", "peer_group", group.id,
                             group_id=group.id)
                db.session.commit()
                cform.group.errors.append(
                    _("This group has a coordinator: only they can invite people to it."))
                return _render(departments, groups, dform, gform, cform, 400)
            created = accounts.invite(group.id, "coordinator", cform.label.data,
                                      invited_by=current_user.id)
            db.session.commit()
        link = url_for("auth.accept_invitation", token=created.token, _external=True)
        return _render(departments, groups, dform,
                       gform, cform, 200, link=link)
    return _render(departments, groups, dform, gform, cform, 400)
