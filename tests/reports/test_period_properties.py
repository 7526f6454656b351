"""Properties of quarters and years over random group data (hypothesis), and of suppression
over a month, its quarter and its year published together (linear programming)."""

from __future__ import annotations

import random
from datetime import date

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from sqlalchemy import distinct, func, select

from harmnet.indicators import BY_CODE, CATALOGUE, SEX_AGE_CELLS, TOTAL, UNKNOWN
from harmnet.models import Contact, Member
from harmnet.services import reports
from harmnet.suppression import Equation, Period, suppress_published_set
from harmnet.tenancy import group_context
from tests.reports.test_batch import build_random

DB_SETTINGS = settings(max_examples=12, deadline=None,
                       suppress_health_check=[HealthCheck.function_scoped_fixture,
                                              HealthCheck.too_slow])


def direct(group, first: str, through: str):  # type: ignore[no-untyped-def]
    """Every indicator computed in SQL over [first, through] as one stretch (what a month's
    statements give when handed a whole quarter), independent of how quarters are made."""
    span = reports.Span("direct", "month", first, through)
    with group_context(group.id):
        return reports.compute_set(reports._session_run, [group.id], [span], tz=group.timezone,
                                   fy_start_month=1)[group.id]["direct"]


@DB_SETTINGS
@given(seed=st.integers(0, 10**6), month=st.sampled_from(["2024-03", "2024-05", "2024-08"]))
def test_quarters_and_years_follow_each_aggregation(db, make_group, builder, seed, month
                                                    ):  # type: ignore[no-untyped-def]
    group = make_group()
    build_random(builder(group), random.Random(seed))
    db.session.commit()
    spans, values = reports.compute_group_set(group.id, month)
    for span in spans:
        if span.kind == "month":
            continue
        months = [values[m] for m in span.months]
        whole = direct(group, span.first, span.through)
        for indicator in CATALOGUE:
            code = indicator.code
            for cell in indicator.cells:
                q = values[span.key][code][cell]
                each = [m[code][cell] for m in months]
                if indicator.aggregation == "sum":
                    # The period's own SQL (hours: each month is rounded to 0.1 h, and a
                    # quarter is the sum of the months as published).
                    assert abs(q - whole[code][cell]) <= 0.05 * len(months) + 1e-9
                    assert abs(q - sum(each)) < 1e-9  # = the sum of its months
                elif indicator.aggregation == "distinct":
                    assert max(each) <= q <= sum(each), (span.key, code, cell)
                    assert q == whole[code][cell], (span.key, code, cell)
                else:
                    assert q == each[-1], (span.key, code, cell)
    year = values[spans[-1].key]
    with group_context(group.id):
        members = db.session.scalar(select(func.count()).select_from(Member))
        start, end = spans[-1].bounds
        clients = db.session.scalar(
            select(func.count(distinct(Contact.client_id))).where(
                Contact.deleted_at.is_(None), Contact.client_id.is_not(None),
                Contact.occurred_on >= start, Contact.occurred_on < end))
    assert year["active_members"][TOTAL] <= members
    assert year["active_peer_educators"][TOTAL] <= year["active_members"][TOTAL]
    assert year["reached"][TOTAL] == clients
    assert year["reached_first_time"][TOTAL] <= year["reached"][TOTAL]


def test_the_department_year_never_shows_more_active_members_than_exist(
        client, db, make_group, builder, make_user):  # type: ignore[no-untyped-def]
    from harmnet.models import Department
    from tests.support import login

    groups = [make_group(f"yr-{i}") for i in range(2)]
    for i, group in enumerate(groups):
        build_random(builder(group), random.Random(100 + i))
    db.session.commit()
    department = db.session.get(Department, groups[0].department_id)
    department.suppression_threshold = 1
    for group in groups:
        group.department_id = department.id
        for month in ("2024-06", "2024-07", "2024-08"):
            reports.close_month(group.id, month)
    make_user("dept-y", department=department, role="viewer")
    db.session.commit()
    existing = 0
    for group in groups:
        with group_context(group.id):
            existing += db.session.scalar(select(func.count()).select_from(Member))
    snapshots = reports.current_snapshots(department.id, ["2024"])
    assert len(snapshots) == 2
    shown = reports.totals(snapshots).headline("active_members").value
    assert shown <= existing
    login(client, "dept-y")
    assert client.get(f"/d/{department.code}/?p=2024").status_code == 200


# --- suppression across periods --------------------------------------------------------------

MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]
PERIODS = [*(Period(m) for m in MONTHS), Period("2024-Q1", tuple(MONTHS[:3])),
           Period("2024-Q2", tuple(MONTHS[3:])), Period("2024", tuple(MONTHS))]
small_or_large = st.one_of(st.integers(0, 6), st.integers(0, 40))


@st.composite
def published_sets(draw):  # type: ignore[no-untyped-def]
    """Random months of the person indicators; quarters and year made as the catalogue says
    (sums and first-time persons add up, `last` takes the last month, `distinct` lies
    between the largest month and the sum)."""
    raw: dict[str, dict[str, dict[str, int]]] = {p.key: {} for p in PERIODS}
    for code in ("reached_first_time", "group_session_participants", "active_members",
                 "reached", "referred"):
        indicator = BY_CODE[code]
        parts = [c for c in indicator.cells if c != TOTAL] or [TOTAL]
        used = draw(st.lists(st.sampled_from(parts), min_size=1, max_size=4, unique=True))
        for m in MONTHS:
            cells = dict.fromkeys(parts, 0)
            for c in used:
                cells[c] = draw(small_or_large)
            if indicator.has_total and parts != [TOTAL]:
                cells = {TOTAL: sum(cells.values()), **cells}
            raw[m][code] = cells
        for p in PERIODS[len(MONTHS):]:
            months = [raw[m][code] for m in p.months]
            if indicator.additive_in_year:
                raw[p.key][code] = {c: sum(x[c] for x in months) for c in months[0]}
            elif indicator.aggregation == "last":
                raw[p.key][code] = dict(months[-1])
            else:
                cells = {c: draw(st.integers(max(x[c] for x in months),
                                             sum(x[c] for x in months)))
                         for c in months[0] if c != TOTAL}
                raw[p.key][code] = ({TOTAL: sum(cells.values()), **cells}
                                    if indicator.has_total and len(cells) else cells)
    return raw, draw(st.integers(2, 11))


def equations_of(code: str, raw) -> list[Equation]:  # type: ignore[no-untyped-def]
    """What a reader can write down from the published set, built here independently."""
    indicator = BY_CODE[code]
    out = []
    for p in PERIODS:
        cells = raw[p.key][code]
        if indicator.has_total and len(cells) > 1:
            out.append(Equation(f"{p.key}|{TOTAL}",
                                tuple(f"{p.key}|{c}" for c in cells if c != TOTAL)))
        for c in cells:
            if p.months and indicator.aggregation == "sum" or (
                    p.months and code == "reached_first_time"):
                out.append(Equation(f"{p.key}|{c}", tuple(f"{m}|{c}" for m in p.months)))
            elif p.months and indicator.aggregation == "last":
                out.append(Equation(f"{p.key}|{c}", (f"{p.months[-1]}|{c}",)))
    return out


def value_range(values, equations, hidden, key):  # type: ignore[no-untyped-def]
    unknown = sorted(hidden)
    index = {name: i for i, name in enumerate(unknown)}
    a_eq, b_eq = [], []
    for eq in equations:
        row = np.zeros(len(unknown))
        rhs = 0.0
        for name, coef in [(eq.total, 1.0)] + [(m, -1.0) for m in eq.members]:
            if name in index:
                row[index[name]] += coef
            else:
                rhs -= coef * values[name]
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)
    c = np.zeros(len(unknown))
    c[index[key]] = 1.0
    kwargs = {"bounds": [(0, None)] * len(unknown), "method": "highs"}
    if a_eq:
        kwargs.update(A_eq=np.array(a_eq), b_eq=np.array(b_eq))
    low, high = linprog(c, **kwargs), linprog(-c, **kwargs)
    assert low.status == 0
    return low.fun, (float("inf") if high.status == 3 else -high.fun)


@settings(max_examples=100, deadline=None)
@given(published_sets())
def test_month_quarter_and_year_together_leave_every_suppressed_cell_two_values(data
                                                                              ):  # type: ignore[no-untyped-def]
    raw, k = data
    published = suppress_published_set(raw, PERIODS, k)
    for code in raw[MONTHS[0]]:
        values = {f"{p.key}|{c}": v for p in PERIODS for c, v in raw[p.key][code].items()}
        hidden = {f"{p.key}|{c}" for p in PERIODS
                  for c, v in published[p.key][code].items() if v is None}
        for key, value in values.items():
            if 1 <= value < k:
                assert key in hidden, (code, key)  # every small count is hidden
            if key not in hidden:
                p, c = key.split("|")
                assert published[p][code][c] == value
        equations = equations_of(code, raw)
        for key in sorted(hidden):
            low, high = value_range(values, equations, hidden, key)
            assert high - low >= 1 - 1e-9, (code, key, sorted(hidden))


def test_a_month_is_not_the_quarter_minus_the_other_months():
    """The issue's example: participants of sessions (a sum) in January 3, February 20,
    March 30; without cross-period suppression January = Q1 - 20 - 30."""
    raw = {p.key: {} for p in PERIODS}
    series = {"2024-01": 3, "2024-02": 20, "2024-03": 30, "2024-04": 12, "2024-05": 14}
    for m, v in series.items():
        raw[m]["group_session_participants"] = {TOTAL: v}
    raw["2024-Q1"]["group_session_participants"] = {TOTAL: 53}
    raw["2024-Q2"]["group_session_participants"] = {TOTAL: 26}
    raw["2024"]["group_session_participants"] = {TOTAL: 79}
    out = suppress_published_set(raw, PERIODS, 5)
    shown = {p: out[p]["group_session_participants"][TOTAL] for p in out}
    assert shown["2024-01"] is None
    hidden_q1 = [p for p in ("2024-02", "2024-03", "2024-Q1") if shown[p] is None]
    assert hidden_q1  # something else of the quarter's equation is hidden too
    assert sum(v is None for v in shown.values()) >= 2
    # Cells of sex and age: the unknown column in every period.
    assert UNKNOWN in BY_CODE["reached"].cells and SEX_AGE_CELLS[0] in BY_CODE["reached"].cells


def test_the_dashboard_reads_quarter_snapshots_written_from_group_data(db, make_group, builder
                                                                       ):  # type: ignore[no-untyped-def]
    group = make_group()
    b = builder(group)
    person = b.client("F", "25-34", first=date(2024, 4, 2))
    for day in (date(2024, 4, 2), date(2024, 5, 2), date(2024, 6, 2)):
        b.contact(day, person)
    db.session.commit()
    results = reports.close_month(group.id, "2024-06")
    db.session.commit()
    raw = {s.period: s for s, _ in results}
    assert raw["2024-Q2"].period_type == "quarter" and raw["2024"].period_type == "year"
    assert raw["2024-Q2"].payload["through"] == "2024-06"
    assert reports.compute_group_set(group.id, "2024-06")[1]["2024-Q2"]["reached"][TOTAL] == 1
