"""Routes: a coordinator erases a client who asked to be forgotten."""

from __future__ import annotations

from datetime import date

from flask import g, render_template
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import BooleanField, RadioField, StringField, SubmitField
from wtforms.validators import InputRequired, Length

from .. import clientcode, jobs
from ..access import coordinator_required
from ..contacts import labels
from ..extensions import db
from ..forms import BaseForm
from ..i18n import lazy_gettext as _l
from ..services import erasure
from . import bp


class EraseForm(BaseForm):
    mother = StringField(_l("Mother's given name"), validators=[Length(max=40)])
    father = StringField(_l("Father's given name"), validators=[Length(max=40)])
    sex = RadioField(_l("Sex"), choices=labels.choices(labels.SEX_NAMES),
                     validators=[InputRequired(_l("Choose female, male or transgender."))])
    birth_year = StringField(_l("Year of birth"), validators=[Length(max=10)])
    confirm = BooleanField(_l("The client asked to be forgotten. This cannot be undone."),
                           validators=[InputRequired()])
    submit = SubmitField(_l("Erase this client"))


def _code(form: EraseForm) -> str | None:
    try:
        year = clientcode.year_part(form.birth_year.data, max_year=date.today().year)
    except clientcode.CodeError:
        form.birth_year.errors.append(
            _("Enter a year of birth like 1996, or leave it empty if not known."))
        return None
    code = clientcode.normalise(form.mother.data, form.father.data, form.sex.data, year)
    if clientcode.is_all_unknown(code):
        form.mother.errors.append(_("Give at least one of the names or the year of birth."))
        return None
    return code


@bp.route("/erase", methods=["GET", "POST"])
@coordinator_required
def erase():  # type: ignore[no-untyped-def]
    form = EraseForm()
    if form.validate_on_submit() and (code := _code(form)) is not None:
        erased = erasure.erase_client(clientcode.pseudonym(g.group.id, code),
                                      actor_id=current_user.id)
        if erased is None:
            form.mother.errors.append(_("No client of this group has this code."))
        else:
            group_id = g.group.id
            db.session.commit()
            for period in erased.periods:  # a new version of each changed published month
                jobs.enqueue("worker.tasks.reports.build_group_snapshot", group_id, period,
                             "erasure", queue="reports")
            return render_template("erasure/done.html", erased=erased)
    form.confirm.data = False
    return render_template("erasure/erase.html", form=form), (
        400 if form.errors else 200)
