"""The department dashboard at a glance: a period's totals, the same figures for the periods
it is compared with, and twelve months of each indicator, read from report snapshots only.

On PostgreSQL the sums are made in SQL, element by element over the number arrays each
snapshot keeps beside its payload (`headline`, `figures`: indicators.figure_arrays), one
statement per question; a year's dashboard over a thousand groups adds up its ~14,000
snapshots without bringing one of them into Python, and without taking JSON apart (which
cost seconds at that size). Elsewhere (the embedded SQLite default, a handful of groups)
the payloads are added up in Python with `reports.Totals`; tests/reports/test_glance.py
checks that both give the same cells.

Suppression: a figure's `Cell` carries how many reports hid it. A sparkline draws a month
only when nothing in it was hidden, and a change is given only between two figures that
hide nothing (`change`), so neither can be used to work out a hidden number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    String,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, DOUBLE_PRECISION
from sqlalchemy.orm import aliased

from .. import indicators
from ..access import department_subtree_ids
from ..extensions import db
from ..models import ReportSnapshot
from .reports import (
    Cell,
    Revision,
    Span,
    Totals,
    add_months,
    among,
    months_between,
    parse_spec,
    revisions,
)

#: A snapshot's figure array, as PostgreSQL holds it.
FLOATS = ARRAY(DOUBLE_PRECISION())

#: How many months a sparkline shows.
SPARK_MONTHS = 12


@dataclass(frozen=True)
class Wanted:
    """Snapshots of one period key: the latest version of each group's, among the versions
    that cover no later than `through` (None: any), so that a year so far is compared with
    the same months of the year before."""

    key: str
    through: str | None = None


@dataclass(frozen=True)
class Coverage:
    """What the dashboard says about a period's reports: how many groups sent one, the
    last month they cover, and the current ones that revise an earlier version."""

    received: int
    through: str | None
    revised: list[Revision]


def _selection(subtree: list[int], wanted: Sequence[Wanted]):  # type: ignore[no-untyped-def]
    """The current snapshots of `wanted` in the subtree: a statement of ReportSnapshot rows
    (the newest version of each group and key within its `through` limit)."""
    keys = [w.key for w in wanted]
    limits = {w.key: w.through for w in wanted if w.through is not None}
    newer = aliased(ReportSnapshot, name="newer")
    s_through = func.coalesce(ReportSnapshot.through, ReportSnapshot.period)
    n_through = func.coalesce(newer.through, newer.period)
    conditions = [among(ReportSnapshot.department_id, subtree, BigInteger),
                  among(ReportSnapshot.period, keys, String)]
    newer_conditions = [newer.group_id == ReportSnapshot.group_id,
                        newer.period == ReportSnapshot.period,
                        newer.version > ReportSnapshot.version,
                        among(newer.period, keys, String),
                        among(newer.department_id, subtree, BigInteger)]
    if limits:
        limit = case(limits, value=ReportSnapshot.period, else_=None)
        conditions.append((limit.is_(None)) | (s_through <= limit))
        newer_conditions.append((limit.is_(None)) | (n_through <= limit))
    return select(ReportSnapshot).where(*conditions, ~exists().where(and_(*newer_conditions)))


def _is_pg() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def coverage(department_id: int, key: str, subtree: list[int] | None = None) -> Coverage:
    """The current snapshots of one period, counted in SQL; only the revisions among them
    (a handful) come back as rows."""
    subtree = subtree if subtree is not None else department_subtree_ids(department_id)
    sq = _selection(subtree, [Wanted(key)]).subquery()
    received, through = db.session.execute(
        select(func.count(), func.max(func.coalesce(sq.c.through, sq.c.period)))).one()
    revised = select(sq.c.group_id, sq.c.version, sq.c.generated_at, sq.c.changed).where(
        sq.c.changed.is_not(None))
    if _is_pg():  # a first version's `changed` is JSON null; revisions() drops the rest
        revised = revised.where(func.jsonb_typeof(sq.c.changed) == "array")
    return Coverage(received, through, revisions(db.session.execute(revised)))


def _sum_arrays(selection, column: str, length: int, by_period: bool
                ) -> list[tuple[str | None, list[tuple[int | float, int, int]]]]:
    """Element-wise sums of a figure array (`headline` or `figures`) over the selected
    snapshots, in one statement: per element (value, hidden, reports), per period when
    `by_period`. An element past a row's array (an older, shorter layout) is no report;
    a NULL inside it is a hidden value."""
    cur = selection.with_only_columns(
        ReportSnapshot.period, type_coerce(getattr(ReportSnapshot, column), FLOATS).label("a")
    ).subquery("cur")
    array = type_coerce(cur.c.a, FLOATS)
    if column == "figures":
        return _sum_unnested(cur, array, length, by_period)
    size = func.cardinality(array)
    keys = [cur.c.period] if by_period else []
    # Subscripts written into the statement (literal_column), not bound: a statement with
    # hundreds of parameters costs more to plan than to run.
    at = [array[literal_column(str(i))] for i in range(1, length + 1)]
    sums = [f for a in at for f in (func.sum(a), func.count(a))]
    stmt = select(*keys, func.coalesce(size, literal_column("0")), func.count(), *sums)
    rows = [row if by_period else (None, *row)
            for row in db.session.execute(stmt.group_by(*keys, size))]
    out: dict[str | None, list[list]] = {}
    for key, size, n, *sums in rows:
        acc = out.setdefault(key, [[0, 0, 0] for _ in range(length)])
        for i in range(min(size, length)):
            value, shown = sums[2 * i], sums[2 * i + 1]
            acc[i][0] += value or 0
            acc[i][1] += n - shown
            acc[i][2] += n
    return [(key, [(v, h, r) for v, h, r in acc]) for key, acc in out.items()]


def _sum_unnested(cur, array, length: int, by_period: bool  # type: ignore[no-untyped-def]
                  ) -> list[tuple[str | None, list[tuple[int | float, int, int]]]]:
    """`_sum_arrays` for a long array (`figures`: every cell), one row per element: each
    snapshot's array is read once (unnest) instead of once per subscript. PostgreSQL keeps
    a long array compressed in the row and decompresses it at every subscript: 350 times
    per snapshot for the sum and count of 175 cells, most of a year's dashboard."""
    # unnest and generate_subscripts in the select list run in step (a ProjectSet, no
    # tuplestore per row as a function in FROM would fill): (element, its position).
    elements = select(cur.c.period, func.unnest(array).label("v"),
                      func.generate_subscripts(array, 1).label("i")).subquery("e")
    keys = [elements.c.period] if by_period else []
    stmt = (select(*keys, elements.c.i, func.sum(elements.c.v), func.count(elements.c.v),
                   func.count())
            .where(elements.c.i <= length)
            .group_by(*keys, elements.c.i))
    out: dict[str | None, list[tuple[int | float, int, int]]] = {}
    for row in db.session.execute(stmt):
        key, (i, value, shown, reports) = (row[0], row[1:]) if by_period else (None, row)
        acc = out.setdefault(key, [(0, 0, 0)] * length)
        acc[i - 1] = (value or 0, reports - shown, reports)
    return list(out.items())


def _number_of(code: str, value: float) -> int | float:
    decimals = indicators.BY_CODE[code].decimals
    return round(value, decimals) if decimals else int(round(value))


def period_totals(department_id: int, key: str, subtree: list[int] | None = None) -> Totals:
    """Every cell of one period summed over the subtree's current snapshots."""
    subtree = subtree if subtree is not None else department_subtree_ids(department_id)
    selection = _selection(subtree, [Wanted(key)])
    out = Totals()
    if not _is_pg():
        for snapshot in db.session.scalars(selection):
            out.add(snapshot.payload.get("values", {}))
        return out
    layout = indicators.figure_layout()
    for _, sums in _sum_arrays(selection, "figures", len(layout), False):
        for (code, cell), (value, hidden, reports) in zip(layout, sums, strict=True):
            if reports:
                out.cells.setdefault(code, {})[cell] = Cell(_number_of(code, value), hidden,
                                                            reports)
    return out


def headlines(department_id: int, wanted: Sequence[Wanted], subtree: list[int] | None = None
              ) -> dict[str, dict[str, Cell]]:
    """{key: {indicator code: headline Cell}} for every wanted period, in one statement on
    PostgreSQL (a headline is an indicator's total; a by-service indicator adds its cells)."""
    subtree = subtree if subtree is not None else department_subtree_ids(department_id)
    out: dict[str, dict[str, Cell]] = {w.key: {} for w in wanted}
    if not wanted:
        return out
    selection = _selection(subtree, wanted)
    if not _is_pg():
        by_key: dict[str, Totals] = defaultdict(Totals)
        for snapshot in db.session.scalars(selection):
            by_key[snapshot.period].add(snapshot.payload.get("values", {}))
        for key, totals in by_key.items():
            out[key] = {i.code: totals.headline(i.code) for i in indicators.CATALOGUE
                        if i.code in totals.cells}
        return out
    layout = indicators.headline_layout()
    for key, sums in _sum_arrays(selection, "headline", len(layout), True):
        parts = {(code, part): figure for (code, part), figure in zip(layout, sums, strict=True)}
        for i in indicators.CATALOGUE:
            if i.has_total:
                value, hidden, reports = parts[(i.code, indicators.TOTAL)]
            else:
                value, _, reports = parts[(i.code, "shown")]
                hidden = int(parts[(i.code, "hidden")][0])
            if not reports:
                continue
            cell = Cell(_number_of(i.code, value), hidden, reports)
            if not i.has_total and cell.suppressed and not cell.value:
                cell.reports = cell.suppressed  # as Totals.headline: everything hidden
            out[key][i.code] = cell
    return out


# --- comparisons -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A figure against an earlier one: the difference, and the percentage where the
    earlier figure is not 0."""

    delta: int | float
    percent: int | None

    @property
    def direction(self) -> str:
        return "up" if self.delta > 0 else "down" if self.delta < 0 else "same"


def exact(cell: Cell | None) -> bool:
    """Whether a figure is known exactly: reported, and nothing in it hidden."""
    return cell is not None and cell.reports > 0 and not cell.suppressed


def change(now: Cell | None, before: Cell | None) -> Change | None:
    """The change between two figures, or None when either is not exact: a difference that
    involves a hidden number would tell something about it."""
    if not (exact(now) and exact(before)):
        return None
    assert now is not None and before is not None
    delta = now.value - before.value
    if isinstance(delta, float):
        delta = round(delta, 1)
    percent = round(100 * delta / before.value) if before.value else None
    return Change(delta, percent)


def shifted(span: Span, months: int, fy_start_month: int) -> Span:
    """The period of the same kind `months` earlier (a month, a quarter or a year)."""
    first = add_months(span.first, -months)
    if span.kind == "month":
        return parse_spec(first)
    if span.kind == "quarter":
        return parse_spec(f"{first[:4]}-Q{(int(first[5:]) - 1) // 3 + 1}")
    return parse_spec(first[:4], fy_start_month)


@dataclass(frozen=True)
class Comparison:
    """A period the figures are compared with, and the month its versions may cover (so
    that a quarter or year so far is compared with the same number of months)."""

    span: Span
    through: str | None
    #: previous | last_year (a year's previous period is the year before: one comparison)
    kind: str


def comparisons(span: Span, covered: str | None, fy_start_month: int) -> list[Comparison]:
    """The previous period and the same period a year earlier, each limited to as many
    months as the figures cover so far."""
    step = {"month": 1, "quarter": 3, "year": 12}[span.kind]
    length = len(months_between(span.first, min(covered, span.through))) if covered else None
    out = []
    for kind, months in (("previous", step), ("last_year", 12)):
        if kind == "last_year" and step == 12:
            break
        other = shifted(span, months, fy_start_month)
        through = add_months(other.first, length - 1) if length else None
        out.append(Comparison(other, through, kind))
    return out


def spark_months(span: Span) -> list[str]:
    """The twelve months a sparkline shows: those ending with the period's last month."""
    return [add_months(span.through, -i) for i in range(SPARK_MONTHS - 1, -1, -1)]


def target_per_month(code: str, months: Iterable[str], targets_by_year: dict[int, dict[str, int]],
                     fy_start_month: int) -> list[float | None]:
    """The target line of a sparkline, month by month: a `sum` indicator's yearly target
    at its monthly pace (a twelfth), a `last` indicator's (a state) as it is; a `distinct`
    indicator's yearly target counts people over the whole year and has no monthly line."""
    aggregation = indicators.BY_CODE[code].aggregation
    out: list[float | None] = []
    for month in months:
        year = int(month[:4]) - (int(month[5:]) < fy_start_month)
        target = targets_by_year.get(year, {}).get(code)
        if target is None or aggregation == "distinct":
            out.append(None)
        else:
            out.append(target / 12 if aggregation == "sum" else float(target))
    return out


# --- the by-group page ---------------------------------------------------------------------


def groups_by_value(department_id: int, key: str, code: str):  # type: ignore[no-untyped-def]
    """The subtree's groups ordered by one indicator's published figure for the period,
    largest first, then by name. A hidden figure (JSON null) and a group without a report
    sort last, among themselves by name: the order tells nothing a hidden figure would not.
    A by-service indicator orders by the sum of its shown cells, as its headline does."""
    from ..models import PeerGroup

    subtree = department_subtree_ids(department_id)
    cur = _selection(subtree, [Wanted(key)]).with_only_columns(
        ReportSnapshot.group_id, ReportSnapshot.payload).subquery("cur")
    indicator = indicators.BY_CODE[code]
    if indicator.has_total:
        figure = cur.c.payload[("values", code, indicators.TOTAL)].as_float()
    else:
        figure = sum((func.coalesce(cur.c.payload[("values", code, cell)].as_float(), 0)
                      for cell in indicator.cells), start=literal(0))
        figure = case((cur.c.group_id.is_(None), None), else_=figure)
    return (
        select(PeerGroup)
        .outerjoin(cur, cur.c.group_id == PeerGroup.id)
        .where(among(PeerGroup.department_id, subtree, BigInteger))
        .order_by(figure.desc().nulls_last(), PeerGroup.name, PeerGroup.id)
    )
