"""Routes of the department workspace. They read report snapshots only, never group tables."""

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
from flask_babel import get_locale
from flask_babel import gettext as _

from .. import indicators, jobs
from ..access import department_manager_required, department_subtree_ids
from ..extensions import db
from ..models import PeerGroup
from ..services import audit, dhis2, exports, glance, org
from ..services import reports as service
from . import bp
from .charts import bar_chart, sparkline
from .forms import Dhis2Form, RefreshForm, mapping_form, targets_form

EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "xml": "application/xml",
    "xsd": "application/xml",
}


def page_locale() -> str:
    return str(get_locale() or "vi")


def _default_month() -> str:
    return service.previous_month(service.local_now("Asia/Ho_Chi_Minh").date())


def chosen_period() -> tuple[str, service.Span]:
    """The ?p= period (YYYY-MM, YYYY-Qn or YYYY, the department's reporting year) and the
    period it names; 400 when malformed."""
    spec = request.args.get("p") or _default_month()
    try:
        return spec, service.parse_spec(spec, g.department.fiscal_year_start_month)
    except ValueError:
        abort(400)


def _year() -> int:
    raw = request.args.get("year") or _default_month()[:4]
    if not (raw.isdigit() and len(raw) == 4):
        abort(400)
    return int(raw)


def _subtree_group(group_id: int) -> PeerGroup:
    """A group of this department's subtree, or 404 (the names are all a department sees)."""
    groups = {gr.id: gr for gr in service.subtree_groups(g.department.id)}
    if group_id not in groups:
        abort(404)
    return groups[group_id]


def period_choices(spec: str) -> dict:
    year = spec[:4]
    return {"year": year, "months": service.period_months(year, 1),
            "quarters": [f"{year}-Q{i}" for i in range(1, 5)],
            "prev_year": str(int(year) - 1), "next_year": str(int(year) + 1)}


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    spec, span = chosen_period()
    fy = g.department.fiscal_year_start_month
    subtree = department_subtree_ids(g.department.id)
    # The period's own snapshots: a quarter or a year of a person count is computed for
    # that period by each group, never added up from months. Summed in SQL (glance).
    cover = glance.coverage(g.department.id, span.key, subtree)
    through = cover.through
    totals = glance.period_totals(g.department.id, span.key, subtree)
    compared = glance.comparisons(span, through, fy)
    months = glance.spark_months(span)
    wanted = {m: None for m in months}
    for c in compared:
        wanted.setdefault(c.span.key, c.through)
    heads = glance.headlines(g.department.id,
                             [glance.Wanted(k, t) for k, t in wanted.items()], subtree)
    years = sorted({int(m[:4]) - (int(m[5:]) < fy) for m in months})
    targets_by_year = {y: service.targets(g.department.id, y) for y in years}
    cards = []
    for i in indicators.CATALOGUE:
        cell = totals.headline(i.code)
        cells = totals.cells.get(i.code, {})
        cards.append({
            "breakdown": [(c, cells[c]) for c in i.cells if c != indicators.TOTAL
                          and c in cells and (cells[c].value or cells[c].suppressed)],
            "indicator": i, "cell": cell,
            "changes": [(c, glance.change(cell, heads[c.span.key].get(i.code)))
                        for c in compared],
            "spark": sparkline([heads[m].get(i.code) for m in months],
                               glance.target_per_month(i.code, months, targets_by_year, fy)),
        })
    # The first names only: the by-group table pages through the rest.
    groups, count = service.subtree_groups_head(g.department.id,
                                                current_app.config["PAGE_SIZE"])
    return render_template(
        "department/dashboard.html",
        children=org.child_departments(g.department.id),
        groups=groups, group_count=count,
        spec=spec, span=span, choices=period_choices(spec),
        totals=totals, cards=cards, months=months, compared=compared,
        locale=page_locale(), expected=count, received=cover.received,
        through=through, revised=cover.revised,
        cell_label=indicators.cell_label,
    )


@bp.get("/menu")
def menu():  # type: ignore[no-untyped-def]
    """Every page of the department (manager pages for managers): the bar's "More"."""
    return render_template("nav/menu.html")


SORTS = ("name", "value")


@bp.get("/groups")
def groups_table():  # type: ignore[no-untyped-def]
    spec, span = chosen_period()
    code = request.args.get("i") or indicators.CATALOGUE[0].code
    sort = request.args.get("sort") or "name"
    if code not in indicators.BY_CODE or sort not in SORTS:
        abort(400)
    # A province has dozens of groups, the root of a national rollout a thousand: one page
    # of groups, and only their snapshots, so the page costs the same at any size. Sorted
    # by a figure, the order comes from the published values (a hidden one sorts last).
    stmt = (service.subtree_groups_stmt(g.department.id) if sort == "name"
            else glance.groups_by_value(g.department.id, span.key, code))
    page = db.paginate(stmt,
                       page=max(request.args.get("page", 1, type=int) or 1, 1),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    snapshots = service.current_snapshots(g.department.id, [span.key],
                                          group_ids=[gr.id for gr in page.items])
    return render_template(
        "department/groups.html", spec=spec, span=span, choices=period_choices(spec),
        page=page, by_group=service.totals_by_group(snapshots),
        catalogue=indicators.CATALOGUE, locale=page_locale(),
        chosen=indicators.BY_CODE[code], sort=sort,
    )


@bp.get("/trends")
def trends():  # type: ignore[no-untyped-def]
    year = _year()
    months = service.period_months(str(year), g.department.fiscal_year_start_month)
    series = service.monthly_series(service.current_snapshots(g.department.id, months), months)
    charts = [(i, bar_chart(series[i.code], months)) for i in indicators.CATALOGUE]
    return render_template("department/trends.html", year=year, charts=charts,
                           locale=page_locale())


@bp.route("/targets", methods=["GET", "POST"])
def targets():  # type: ignore[no-untyped-def]
    year = _year()
    current = service.targets(g.department.id, year)
    form = targets_form(current)() if g.department_role == "manager" else None
    if request.method == "POST":
        if form is None:
            abort(403)
        if form.validate_on_submit():
            service.set_targets(g.department.id, year, {
                i.code: getattr(form, f"t_{i.code}").data for i in indicators.CATALOGUE})
            db.session.commit()
            flash(_("Targets saved."), "success")
            return redirect(url_for(".targets", year=year))
    span = service.parse_spec(str(year), g.department.fiscal_year_start_month)
    snapshots = service.current_snapshots(g.department.id, [span.key])
    progress = service.target_progress(service.totals(snapshots), current, span,
                                       service.covered_through(snapshots))
    status = 400 if form is not None and form.errors else 200
    return render_template("department/targets.html", year=year, rows=progress.rows,
                           form=form, elapsed=progress.elapsed, through=progress.through,
                           locale=page_locale()), status


@bp.get("/completeness")
def completeness():  # type: ignore[no-untyped-def]
    year = _year()
    months = service.period_months(str(year), g.department.fiscal_year_start_month)
    return render_template(
        "department/completeness.html", year=year, months=months,
        groups=service.subtree_groups(g.department.id),
        table=service.completeness(g.department.id, months),
    )


@bp.get("/history/<int:group_id>/<period>")
def history(group_id: int, period: str):  # type: ignore[no-untyped-def]
    group = _subtree_group(group_id)
    if not service.is_period_key(period):
        abort(404)
    versions = service.history(g.department.id, group_id, period)
    if not versions:
        abort(404)
    # Why each version was written, in words (never a seed, a checksum or a job's name).
    reasons = {"monthly": _("Month closed"), "seed": _("Month closed"),
               "refresh": _("Recomputed at a manager's request"),
               "revision": _("Late correction"),
               "erasure": _("Data erased at a client's request")}
    return render_template("department/history.html", grp=group, period=period,
                           versions=versions, reasons=reasons,
                           catalogue=indicators.CATALOGUE,
                           names={i.code: i.name(page_locale()) for i in indicators.CATALOGUE},
                           locale=page_locale(), cell_label=indicators.cell_label)


@bp.get("/definitions")
def definitions():  # type: ignore[no-untyped-def]
    return render_template("department/definitions.html", catalogue=indicators.CATALOGUE,
                           locale=page_locale(), cell_label=indicators.cell_label)


@bp.get("/exports")
def exports_page():  # type: ignore[no-untyped-def]
    spec, span = chosen_period()
    return render_template("department/exports.html", spec=spec, choices=period_choices(spec),
                           refresh_form=RefreshForm(formdata=None, period=span.through))


@bp.get("/export.<fmt>")
def export(fmt: str):  # type: ignore[no-untyped-def]
    if fmt not in EXPORT_TYPES:
        abort(404)
    spec, span = chosen_period()
    codes = exports.code_map(g.department.id)
    if fmt == "xsd":  # the schema of the ADX export, from the catalogue and the mapping
        return Response(exports.adx_schema(codes), mimetype=EXPORT_TYPES[fmt])
    rolled_up = request.args.get("level") == "department"
    rows = (exports.rollup_rows(g.department.id, [span.key]) if rolled_up
            else exports.export_rows(g.department.id, [span.key]))
    if fmt == "csv":
        body: str | bytes = exports.to_csv(rows, codes, page_locale())
    elif fmt == "xlsx":
        body = exports.to_xlsx(rows, codes, page_locale())
    elif fmt == "json":
        body = exports.to_dhis2_json(rows, codes)
    else:
        body = exports.to_adx(rows, codes,
                              "dhis2" if request.args.get("flavour") == "dhis2" else "ihe")
    audit.record("report.exported", "department", g.department.id, format=fmt, period=spec)
    db.session.commit()
    name = f"harmnet-{g.department.code}-{spec}" + ("-department" if rolled_up else "") + (
        {"json": "-dhis2.json", "xml": "-adx.xml"}.get(fmt) or f".{fmt}")
    response = Response(body, headers={"Content-Disposition": f'attachment; filename="{name}"'})
    response.headers["Content-Type"] = EXPORT_TYPES[fmt]  # as written: one charset, no more
    return response


@bp.post("/refresh")
@department_manager_required
def refresh():  # type: ignore[no-untyped-def]
    form = RefreshForm()
    if not form.validate_on_submit():
        return render_template("department/exports.html", spec=_default_month(),
                               choices=period_choices(_default_month()),
                               refresh_form=form), 400
    ids = [gr.id for gr in service.subtree_groups(g.department.id)]
    audit.record("report.refresh_requested", "department", g.department.id,
                 period=form.period.data, groups=len(ids))
    db.session.commit()
    for group_id in ids:
        jobs.enqueue("worker.tasks.reports.build_group_snapshot", group_id, form.period.data,
                     "refresh", queue="reports")
    flash(_("The month is being recomputed for %(n)s groups. A new version appears only where"
            " values changed.", n=len(ids)), "success")
    return redirect(url_for(".exports_page", p=form.period.data))


@bp.route("/mapping", methods=["GET", "POST"])
@department_manager_required
def mapping():  # type: ignore[no-untyped-def]
    keys = exports.mapping_keys(g.department.id)
    codes = exports.code_map(g.department.id)
    form = mapping_form(keys, codes)()
    if form.validate_on_submit():
        exports.save_mapping(g.department.id, {
            form.field_keys[name]: (getattr(form, name).data or "").strip()
            for name in form.field_keys})
        db.session.commit()
        flash(_("Codes saved."), "success")
        return redirect(url_for(".mapping"))
    sections = {kind: [] for kind in keys}
    for name, (kind, key) in form.field_keys.items():
        sections[kind].append((getattr(form, name), key))
    return render_template("department/mapping.html", form=form, sections=sections,
                           locale=page_locale(), cell_label=indicators.cell_label,
                           names={i.code: i.name(page_locale()) for i in indicators.CATALOGUE}), (
        400 if form.errors else 200)


@bp.route("/dhis2", methods=["GET", "POST"])
@department_manager_required
def dhis2_settings():  # type: ignore[no-untyped-def]
    current = dhis2.settings_for(g.department.id)
    form = Dhis2Form(obj=current) if request.method == "GET" else Dhis2Form()
    if request.method == "GET":
        form.password.data = ""
    if form.validate_on_submit():
        dhis2.save_settings(g.department.id, form.url.data or "", form.username.data or "",
                            form.password.data or None, bool(form.enabled.data),
                            form.level.data)
        audit.record("report.dhis2_settings_saved", "department", g.department.id,
                     enabled=bool(form.enabled.data), level=form.level.data)
        db.session.commit()
        flash(_("Push settings saved."), "success")
        return redirect(url_for(".dhis2_settings"))
    return render_template("department/dhis2.html", form=form, current=current,
                           pushes=dhis2.recent_pushes(g.department.id)), (
        400 if form.errors else 200)

