"""The department dashboard at a glance: a period's totals, the same figures for the periods
it is compared with, and twelve months of each indicator, read from report snapshots only.

On PostgreSQL the sums are made in SQL over the snapshots' JSONB payloads: one statement
per question, one aggregate per indicator cell, each payload read once, and only the sums
leave the database; a year's dashboard over a thousand groups reads its ~14,000 snapshots
without bringing one payload into Python. Elsewhere (the embedded SQLite default, a
handful of groups) the payloads are added up in Python with `reports.Totals`;
tests/reports/test_glance.py checks that both give the same cells.

Suppression: a figure's `Cell` carries how many reports hid it. A sparkline draws a month
only when nothing in it was hidden, and a change is given only between two figures that
hide nothing (`change`), so neither can be used to work out a hidden number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, case, exists, func, literal, select, text
from sqlalchemy.orm import aliased

from .. import indicators
from ..access import department_subtree_ids
from ..extensions import db
from ..models import ReportSnapshot
from .reports import Cell, Span, Totals, add_months, months_between, parse_spec

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
class Meta:
    """A current snapshot without its payload (what the dashboard says about reports)."""

    group_id: int
    period: str
    version: int
    through: str | None
    changed: list | None
    generated_at: object


def _selection(subtree: list[int], wanted: Sequence[Wanted]):  # type: ignore[no-untyped-def]
    """The current snapshots of `wanted` in the subtree: a statement of ReportSnapshot rows
    (the newest version of each group and key within its `through` limit)."""
    keys = [w.key for w in wanted]
    limits = {w.key: w.through for w in wanted if w.through is not None}
    newer = aliased(ReportSnapshot, name="newer")
    s_through = func.coalesce(ReportSnapshot.through, ReportSnapshot.period)
    n_through = func.coalesce(newer.through, newer.period)
    conditions = [ReportSnapshot.department_id.in_(subtree), ReportSnapshot.period.in_(keys)]
    newer_conditions = [newer.group_id == ReportSnapshot.group_id,
                        newer.period == ReportSnapshot.period,
                        newer.version > ReportSnapshot.version,
                        newer.department_id.in_(subtree)]
    if limits:
        limit = case(limits, value=ReportSnapshot.period, else_=None)
        conditions.append((limit.is_(None)) | (s_through <= limit))
        newer_conditions.append((limit.is_(None)) | (n_through <= limit))
    return select(ReportSnapshot).where(*conditions, ~exists().where(and_(*newer_conditions)))


def _number(value: Decimal | int | float | None) -> int | float:
    if value is None:
        return 0
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _is_pg() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def current_meta(department_id: int, key: str) -> list[Meta]:
    """The current snapshots of one period, without their payloads."""
    stmt = _selection(department_subtree_ids(department_id), [Wanted(key)])
    sq = stmt.subquery()
    return [Meta(*row) for row in db.session.execute(
        select(sq.c.group_id, sq.c.period, sq.c.version, sq.c.through, sq.c.changed,
               sq.c.generated_at))]


def _sums(code: str, cells: Sequence[str], combine: bool) -> list[str]:
    """SQL aggregates of one indicator's cells over `v` (a payload's values): per cell, or
    (`combine`) the cells added into one figure, as value, hidden count, report count.
    Codes and cells come from the catalogue, never from a request."""
    def at(cell: str) -> str:
        return f"v -> '{code}' -> '{cell}'"

    if not combine:
        return [out for cell in cells for out in (
            f"sum(({at(cell)} #>> '{{}}')::numeric)",
            f"count(*) FILTER (WHERE jsonb_typeof({at(cell)}) = 'null')",
            f"count(*) FILTER (WHERE v -> '{code}' ? '{cell}')")]
    return [" + ".join(f"coalesce(sum(({at(c)} #>> '{{}}')::numeric), 0)" for c in cells),
            " + ".join(f"count(*) FILTER (WHERE jsonb_typeof({at(c)}) = 'null')"
                       for c in cells),
            f"count(*) FILTER (WHERE v ? '{code}')"]


def _aggregate(selection, columns: list[str], by_period: bool):  # type: ignore[no-untyped-def]
    """One statement: `columns` aggregated over the selected snapshots' values (each payload
    read once per snapshot; extracting keys from it is cheap, unlike expanding it into rows
    with jsonb_each, which costs ten times as much at 14,000 snapshots)."""
    # The selection's values are ids and validated period keys: rendered inline, so that
    # the whole statement is one text (its IN lists would not survive str() otherwise).
    inner = selection.with_only_columns(ReportSnapshot.period, ReportSnapshot.payload).compile(
        db.session.get_bind(), compile_kwargs={"literal_binds": True})
    head = "period, " if by_period else ""
    tail = " GROUP BY period" if by_period else ""
    return db.session.execute(text(
        f"SELECT {head}{', '.join(columns)} FROM (SELECT period, payload -> 'values' AS v"
        f" FROM ({inner}) AS cur) AS t{tail}")).all()


def _cell(value, hidden, reports) -> Cell:  # type: ignore[no-untyped-def]
    return Cell(_number(value), int(hidden or 0), int(reports or 0))


def period_totals(department_id: int, key: str, subtree: list[int] | None = None) -> Totals:
    """Every cell of one period summed over the subtree's current snapshots."""
    subtree = subtree if subtree is not None else department_subtree_ids(department_id)
    selection = _selection(subtree, [Wanted(key)])
    out = Totals()
    if not _is_pg():
        for snapshot in db.session.scalars(selection):
            out.add(snapshot.payload.get("values", {}))
        return out
    columns = [c for i in indicators.CATALOGUE for c in _sums(i.code, i.cells, False)]
    (row,) = _aggregate(selection, columns, False)
    figures = iter(row)
    for i in indicators.CATALOGUE:
        for cell in i.cells:
            value, hidden, reports = next(figures), next(figures), next(figures)
            if reports:
                out.cells.setdefault(i.code, {})[cell] = _cell(value, hidden, reports)
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
    columns = [c for i in indicators.CATALOGUE
               for c in (_sums(i.code, [indicators.TOTAL], False) if i.has_total
                         else _sums(i.code, i.cells, True))]
    for key, *row in _aggregate(selection, columns, True):
        figures = iter(row)
        for i in indicators.CATALOGUE:
            cell = _cell(next(figures), next(figures), next(figures))
            if not cell.reports:
                continue
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
        .where(PeerGroup.department_id.in_(subtree))
        .order_by(figure.desc().nulls_last(), PeerGroup.name, PeerGroup.id)
    )
