"""Routes: the group's stock cards, receipts, physical counts and adjustments
(coordinators). Every write commits once, then redirects; a refused value re-renders the
form with what was typed and the reason, in the reader's language (status 400)."""

from __future__ import annotations

from datetime import date

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..access import coordinator_required
from ..contacts.forms import add_error
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..keyset import parse_cursor
from ..services import reports
from ..services import stock as service
from . import bp
from .forms import REASON_NAMES, AdjustmentForm, CountForm, ReceiptForm, SettingForm

ERRORS = {
    "quantity_needed": _l("Please enter a quantity."),
    "quantity_zero": _l("The quantity must be at least 1."),
    "quantity_negative": _l("A quantity cannot be negative."),
    "quantity_absurd": _l("This quantity is not plausible (at most %(n)s at a time).",
                          n=f"{service.QUANTITY_MAX:,}"),
    "date_needed": _l("Please enter the date."),
    "date_future": _l("The date cannot be in the future."),
    "date_old": _l("Please check the year of this date."),
    "source_needed": _l("Please say where the stock came from."),
    "expiry_before_receipt": _l("The expiry date cannot be before the date received."),
    "unknown_reason": _l("Please choose a reason."),
    "bad_months": _l("Please enter a number of months above 0 and at most 12."),
}


def _today():  # type: ignore[no-untyped-def]
    return reports.local_now(g.group.timezone).date()


def _commodity_or_404(commodity_id: int):  # type: ignore[no-untyped-def]
    commodity = service.group_commodity(g.group, commodity_id)
    if commodity is None:
        abort(404)
    return commodity


def _refused(form, exc: service.StockError) -> None:  # type: ignore[no-untyped-def]
    field = getattr(form, exc.field or "", None) or form.occurred_on
    add_error(field, ERRORS.get(exc.code, _l("Please check the form.")))


@bp.get("/")
@coordinator_required
def index(setting_form: SettingForm | None = None):  # type: ignore[no-untyped-def]
    form = setting_form or SettingForm(formdata=None,
                                       months=g.group.setting("low_stock_months"))
    return render_template("stock/index.html", cards=service.summaries(g.group, _today()),
                           form=form, locale=str(get_locale() or "vi")), (
        400 if form.errors else 200)


@bp.post("/settings")
@coordinator_required
def settings():  # type: ignore[no-untyped-def]
    form = SettingForm()
    if form.validate_on_submit():
        try:
            if form.months.data is None:
                raise service.StockError("bad_months", "months")
            service.set_low_stock_months(g.group, float(form.months.data),
                                         actor_id=current_user.id)
        except service.StockError as exc:
            db.session.rollback()
            add_error(form.months, ERRORS[exc.code])
        else:
            db.session.commit()
            flash(_("Setting saved."), "success")
            return redirect(url_for("stock.index"))
    elif not form.months.errors:
        add_error(form.months, ERRORS["bad_months"])
    return index(form)


def _card_page(commodity, receipt=None, count=None, adjust=None):  # type: ignore[no-untyped-def]
    today = _today()
    summary = next(s for s in service.summaries(g.group, today) if s.commodity.id == commodity.id)
    lines = service.card_lines(commodity.id, current_app.config["PAGE_SIZE"],
                               before=parse_cursor(request.args.get("before"), date),
                               after=parse_cursor(request.args.get("after"), date))
    receipt = receipt or ReceiptForm(formdata=None, prefix="r", occurred_on=today)
    count = count or CountForm(formdata=None, prefix="c", occurred_on=today)
    adjust = adjust or AdjustmentForm(formdata=None, prefix="a", occurred_on=today)
    failed = any(f.errors for f in (receipt, count, adjust))
    return render_template("stock/card.html", commodity=commodity, summary=summary,
                           lines=lines, receipt=receipt, count=count, adjust=adjust,
                           reasons=REASON_NAMES, locale=str(get_locale() or "vi"),
                           today=today), (400 if failed else 200)


@bp.get("/<int:commodity_id>/")
@coordinator_required
def card(commodity_id: int):  # type: ignore[no-untyped-def]
    return _card_page(_commodity_or_404(commodity_id))


def _write(commodity, form, action):  # type: ignore[no-untyped-def]
    """Validate, call the service, commit and redirect; or re-render the card with the
    form's values and the reason (400)."""
    if form.validate_on_submit():
        try:
            message = action(form)
        except service.StockError as exc:
            db.session.rollback()
            _refused(form, exc)
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("stock.card", commodity_id=commodity.id))
    return _card_page(commodity, **{form.slot: form})


@bp.post("/<int:commodity_id>/receipt")
@coordinator_required
def receipt(commodity_id: int):  # type: ignore[no-untyped-def]
    commodity = _commodity_or_404(commodity_id)
    form = ReceiptForm(prefix="r")
    form.slot = "receipt"

    def act(f):  # type: ignore[no-untyped-def]
        service.record_receipt(g.group.id, commodity, occurred_on=f.occurred_on.data,
                               quantity=f.quantity.data, source=f.source.data or "",
                               batch=f.batch.data or "", expires_on=f.expires_on.data,
                               actor_id=current_user.id, today=_today())
        return _("Receipt recorded.")

    return _write(commodity, form, act)


@bp.post("/<int:commodity_id>/count")
@coordinator_required
def count(commodity_id: int):  # type: ignore[no-untyped-def]
    commodity = _commodity_or_404(commodity_id)
    form = CountForm(prefix="c")
    form.slot = "count"

    def act(f):  # type: ignore[no-untyped-def]
        diff = service.record_count(g.group.id, commodity, occurred_on=f.occurred_on.data,
                                    counted=f.counted.data, note=f.note.data or "",
                                    actor_id=current_user.id, today=_today())
        if diff == 0:
            return _("Count recorded: it agrees with the balance.")
        return _("Count recorded: the balance was corrected by %(n)s.", n=f"{diff:+d}")

    return _write(commodity, form, act)


@bp.post("/<int:commodity_id>/adjust")
@coordinator_required
def adjust(commodity_id: int):  # type: ignore[no-untyped-def]
    commodity = _commodity_or_404(commodity_id)
    form = AdjustmentForm(prefix="a")
    form.slot = "adjust"

    def act(f):  # type: ignore[no-untyped-def]
        service.record_adjustment(g.group.id, commodity, occurred_on=f.occurred_on.data,
                                  reason=f.reason.data or "", quantity=f.quantity.data,
                                  note=f.note.data or "", actor_id=current_user.id,
                                  today=_today())
        return _("Adjustment recorded.")

    return _write(commodity, form, act)
