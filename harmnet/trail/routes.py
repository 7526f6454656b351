"""Routes: the three audit pages, filtered by person, action and dates, paginated."""

from __future__ import annotations

from flask import current_app, g, render_template, request
from flask_babel import get_timezone
from wtforms import DateField, SelectField, SubmitField
from wtforms.validators import Optional

from ..access import (
    admin_required,
    coordinator_required,
    department_manager_required,
    department_subtree_ids,
)
from ..forms import BaseForm
from ..i18n import lazy_gettext as _l
from ..services import audit_trail
from . import admin_bp, department_bp, group_bp


class FilterForm(BaseForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    person = SelectField(_l("Person"), validators=[Optional()])
    action = SelectField(_l("Action"), validators=[Optional()])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    submit = SubmitField(_l("Filter"))


def _trail(scope, endpoint: str, heading: str):  # type: ignore[no-untyped-def]
    people, actions = audit_trail.choices(scope)
    form = FilterForm(request.args)
    form.person.choices = [("", _l("Everyone")), *[(str(i), name) for i, name in people]]
    form.action.choices = [("", _l("Every action")), *[(a, a) for a in actions]]
    ok = form.validate() if request.args else True
    filters = audit_trail.Filters()
    if ok:
        filters = audit_trail.Filters(
            actor_id=int(form.person.data) if form.person.data else None,
            action=form.action.data or None,
            date_from=form.date_from.data, date_to=form.date_to.data,
        )
    page = audit_trail.paginate(audit_trail.events(scope, filters, str(get_timezone())),
                                request.args.get("page", 1, type=int),
                                current_app.config["PAGE_SIZE"])
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("trail/trail.html", form=form, page=page, endpoint=endpoint,
                           heading=heading, args=args), (200 if ok else 400)


@group_bp.get("/")
@coordinator_required
def group_trail():  # type: ignore[no-untyped-def]
    return _trail(audit_trail.group_scope(g.group.id), "group_audit.group_trail",
                  _l("Audit trail"))


@department_bp.get("/")
@department_manager_required
def department_trail():  # type: ignore[no-untyped-def]
    subtree = department_subtree_ids(g.department.id)
    return _trail(audit_trail.department_scope(subtree), "department_audit.department_trail",
                  _l("Audit trail"))


@admin_bp.get("/")
@admin_required
def platform_trail():  # type: ignore[no-untyped-def]
    return _trail(audit_trail.platform_scope(), "admin_audit.platform_trail",
                  _l("Platform audit trail"))
