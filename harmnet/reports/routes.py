"""Routes: the coordinator's monthly report (preview of a month, snapshots sent)."""

from __future__ import annotations

from flask import abort, g, render_template, request
from flask_babel import get_locale

from .. import indicators
from ..access import coordinator_required
from ..services import reports as service
from . import bp


@bp.get("/")
@coordinator_required
def index():  # type: ignore[no-untyped-def]
    current = service.month_of(service.local_now(g.group.timezone).date())
    period = request.args.get("month") or current
    try:
        service.month_bounds(period)
    except ValueError:
        abort(400)
    if period > current:
        abort(400)
    months = [service.add_months(current, -i) for i in range(12)]
    return render_template(
        "reports/index.html", period=period, months=months,
        values=service.compute_group(g.group.id, period),  # unsuppressed: this group only
        sent=service.group_snapshots(g.group.id),
        catalogue=indicators.CATALOGUE, locale=str(get_locale() or "vi"),
        cell_label=indicators.cell_label,
    )


@bp.get("/sent/<int:snapshot_id>")
@coordinator_required
def sent(snapshot_id: int):  # type: ignore[no-untyped-def]
    snapshot = next((s for s in service.group_snapshots(g.group.id, limit=10_000)
                     if s.id == snapshot_id), None)
    if snapshot is None:
        abort(404)
    return render_template("reports/sent.html", snapshot=snapshot,
                           catalogue=indicators.CATALOGUE, locale=str(get_locale() or "vi"),
                           cell_label=indicators.cell_label)
