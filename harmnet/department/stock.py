"""Department routes of commodity stock: each group's balance, receipts, use and stock-out
days (from report snapshots only: no person data, nothing suppressed), and the commodity
list, to which a manager adds a commodity for the groups of the department's subtree."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import indicators
from ..access import department_manager_required
from ..contacts.forms import add_error
from ..extensions import db
from ..services import reports as service
from ..services import stock as stock_service
from ..stock.forms import CommodityForm
from . import bp
from .routes import chosen_period, page_locale, period_choices

#: The stock table's columns: (indicator code, whose cell is the commodity's code).
#: Use comes from the catalogue's distribution indicators (condoms, ...), one per commodity.
COLUMNS = ("stock_on_hand", "commodities_received", "given_out", "stock_out_days")


@bp.get("/stock")
def stock():  # type: ignore[no-untyped-def]
    spec, span = chosen_period()
    page = db.paginate(service.subtree_groups_stmt(g.department.id),
                       page=max(request.args.get("page", 1, type=int) or 1, 1),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    snapshots = service.current_snapshots(g.department.id, [span.key],
                                          group_ids=[gr.id for gr in page.items])
    return render_template(
        "department/stock.html", spec=spec, span=span, choices=period_choices(spec),
        page=page, by_group=service.totals_by_group(snapshots),
        commodities=indicators.CORE_COMMODITIES, locale=page_locale(),
        cell_label=indicators.cell_label,
    )


@bp.route("/commodities", methods=["GET", "POST"])
@department_manager_required
def commodities():  # type: ignore[no-untyped-def]
    form = CommodityForm()
    if form.validate_on_submit():
        if not form.name_vi.data:
            add_error(form.name_vi, _("Please give the commodity's name."))
        else:
            try:
                stock_service.add_commodity(
                    g.department.id, form.code.data or "", form.name_vi.data,
                    form.name_en.data or "", form.tracks_expiry.data == "yes",
                    actor_id=current_user.id)
            except stock_service.StockError as exc:
                db.session.rollback()
                add_error(form.code, _("This code is taken.") if exc.code == "code_taken"
                          else _("Use lower-case letters, digits and _ only (at most 30)."))
            else:
                db.session.commit()
                flash(_("Commodity added."), "success")
                return redirect(url_for("department.commodities"))
    return render_template(
        "department/commodities.html", form=form, locale=page_locale(),
        commodities=stock_service.department_commodities(g.department.id),
    ), (400 if form.errors else 200)
