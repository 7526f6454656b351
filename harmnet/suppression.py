"""Small-cell suppression: a pure function over one table of counts.

A table is a mapping of cell keys to non-negative counts, plus the published equations
that tie cells together (``total = sum(members)``). Rules:

1. **Primary**: a person count from 1 to k-1 is suppressed (never shown as 0). Zeros are shown.
2. **Complementary**: no equation may be left with exactly one suppressed term, since that
   term would equal the total minus the published terms. When one is, another term is
   suppressed too: the smallest positive unsuppressed member first (hiding a 0 teaches
   little about the primary cell's range), else a zero member, else the total itself.
   The rule is applied until nothing changes.

When every key belongs to at most one equation (the shape of every published indicator:
cells plus their total), this leaves every suppressed cell with at least two non-negative
values consistent with everything published: each equation with suppressed terms holds a
primary cell >= 1, so one unit can move between it and any other suppressed term.
The hypothesis tests check that claim with linear programming.

3. **Across periods** (`suppress_published_set`): a month, its quarter and its year are
   published together, and a `sum` quarter is its months added up, a `last` quarter equals
   its last month. Those equations join the tables into a grid where a key sits in two or
   more equations, and rule 2 alone can leave a suppressed cell pinned down (a "bridge"
   between two groups of suppressed cells). After rule 2, an exact rational elimination
   finds every suppressed cell that the published equations determine, and one more term
   of an equation through it is suppressed, until none is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Equation:
    """A published total: ``values[total] == sum(values[m] for m in members)``."""

    total: str
    members: tuple[str, ...]


def primary(values: Mapping[str, int], k: int, person_keys: Iterable[str] | None = None
            ) -> set[str]:
    """The cells whose own value is a small person count (1 .. k-1)."""
    keys = values.keys() if person_keys is None else person_keys
    return {key for key in keys if 1 <= values[key] < k}


def suppress(
    values: Mapping[str, int],
    equations: Sequence[Equation] = (),
    k: int = 5,
    person_keys: Iterable[str] | None = None,
) -> frozenset[str]:
    """The keys to suppress in `values` (every key is a person count unless `person_keys`)."""
    for key, value in values.items():
        if value < 0:
            raise ValueError(f"negative count in cell {key!r}")
    return _complete(values, equations, primary(values, k, person_keys))


def _complete(values: Mapping[str, int], equations: Sequence[Equation], hidden: set[str]
              ) -> frozenset[str]:
    """Rule 2 from a starting set of suppressed keys."""
    hidden = set(hidden)
    changed = bool(hidden)
    while changed:
        changed = False
        for eq in equations:
            terms = (eq.total, *eq.members)
            if sum(term in hidden for term in terms) != 1:
                continue
            candidates = [m for m in eq.members if m not in hidden]
            if candidates:
                # Positive values first, smallest first; zeros last; ties by key (stable).
                pick = min(candidates, key=lambda m: (values[m] == 0, values[m], m))
            elif eq.total not in hidden:
                pick = eq.total
            else:  # pragma: no cover - one suppressed term means something is unsuppressed
                continue
            hidden.add(pick)
            changed = True
    return frozenset(hidden)


def apply(values: Mapping[str, int | float], hidden: Iterable[str]
          ) -> dict[str, int | float | None]:
    """The published table: suppressed cells become None (never 0)."""
    hidden = set(hidden)
    return {key: (None if key in hidden else value) for key, value in values.items()}


def suppress_indicators(raw: Mapping[str, Mapping[str, int | float]], k: int
                        ) -> dict[str, dict[str, int | float | None]]:
    """Suppress every person-count indicator of one group-month (see harmnet.indicators)."""
    from .indicators import BY_CODE, TOTAL

    published: dict[str, dict[str, int | float | None]] = {}
    for code, cells in raw.items():
        indicator = BY_CODE[code]
        if not indicator.counts_persons:
            published[code] = dict(cells)
            continue
        counts = {key: int(value) for key, value in cells.items()}
        equations: list[Equation] = []
        if indicator.has_total and len(counts) > 1:
            equations.append(Equation(TOTAL, tuple(key for key in counts if key != TOTAL)))
        published[code] = apply(counts, suppress(counts, equations, k))
    return published


def determined(equations: Sequence[Equation], hidden: Iterable[str]) -> set[str]:
    """The suppressed keys whose value the published equations fix (whatever the values):
    a key is fixed when it is zero in every solution of the homogeneous system over the
    suppressed keys, found by exact Gauss-Jordan elimination over the rationals."""
    from fractions import Fraction

    hidden = set(hidden)
    columns = sorted(hidden)
    index = {key: i for i, key in enumerate(columns)}
    rows: list[list[Fraction]] = []
    for eq in equations:
        row = [Fraction(0)] * len(columns)
        for key, coef in ((eq.total, 1), *((m, -1) for m in eq.members)):
            if key in index:
                row[index[key]] += coef
        if any(row):
            rows.append(row)
    pivots: list[int] = []
    r = 0
    for c in range(len(columns)):
        pick = next((i for i in range(r, len(rows)) if rows[i][c] != 0), None)
        if pick is None:
            continue
        rows[r], rows[pick] = rows[pick], rows[r]
        lead = rows[r][c]
        rows[r] = [x / lead for x in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][c] != 0:
                f = rows[i][c]
                rows[i] = [a - f * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivots.append(c)
        r += 1
        if r == len(rows):
            break
    pivot_set = set(pivots)
    out: set[str] = set()
    for i, c in enumerate(pivots):
        # A pivot with no free column in its row has one value in every solution.
        if all(rows[i][j] == 0 for j in range(len(columns)) if j not in pivot_set):
            out.add(columns[c])
    return out


def protect(values: Mapping[str, int], equations: Sequence[Equation], k: int,
            person_keys: Iterable[str] | None = None) -> frozenset[str]:
    """Rules 1 and 2, then suppress more until no suppressed key is fixed by the equations
    (rule 3; needed where keys sit in several equations)."""
    hidden = set(suppress(values, equations, k, person_keys))
    while True:
        # An equation with a published total whose suppressed members are all 0 pins them
        # to 0 (counts are never negative): suppress a positive member (or the total) too.
        pinned = next((eq for eq in equations if eq.total not in hidden
                       and any(m in hidden for m in eq.members)
                       and not any(values[m] for m in eq.members if m in hidden)), None)
        if pinned is not None:
            positive = [m for m in pinned.members if m not in hidden and values[m] > 0]
            hidden.add(min(positive, key=lambda m: (values[m], m)) if positive
                       else pinned.total)
            hidden = set(_complete(values, equations, hidden))
            continue
        fixed = determined(equations, hidden)
        if not fixed:
            return frozenset(hidden)
        key = min(fixed)
        # The smallest positive published term of an equation through the fixed key;
        # failing that, of any equation that has a suppressed term.
        touching = [eq for eq in equations if key in (eq.total, *eq.members)]
        pool = [t for eq in touching for t in (eq.total, *eq.members) if t not in hidden]
        if not pool:
            pool = [t for eq in equations
                    if any(x in hidden for x in (eq.total, *eq.members))
                    for t in (eq.total, *eq.members) if t not in hidden]
        if not pool:  # pragma: no cover - everything around is hidden already
            return frozenset(hidden)
        hidden.add(min(pool, key=lambda t: (values[t] == 0, values[t], t)))
        hidden = set(_complete(values, equations, hidden))


@dataclass(frozen=True)
class Period:
    """One table of a published set: its key and, for a quarter or a year, the keys of the
    months it is made of (all present in the set)."""

    key: str
    months: tuple[str, ...] = ()


def suppress_published_set(
    raw: Mapping[str, Mapping[str, Mapping[str, int | float]]],
    periods: Sequence[Period],
    k: int,
) -> dict[str, dict[str, dict[str, int | float | None]]]:
    """Suppress every person-count indicator over a set of periods published together
    (``raw[period key][indicator code][cell]``), so that no suppressed cell can be worked
    out from the period's own total nor from the other periods: a quarter of an additive
    indicator equals the sum of its months, a `last` quarter equals its last month."""
    from .indicators import BY_CODE, TOTAL

    published: dict[str, dict[str, dict[str, int | float | None]]] = {p.key: {} for p in periods}
    codes = list(next(iter(raw.values())).keys()) if raw else []
    for code in codes:
        indicator = BY_CODE[code]
        if not indicator.counts_persons:
            for p in periods:
                published[p.key][code] = dict(raw[p.key][code])
            continue
        values: dict[str, int] = {}
        equations: list[Equation] = []
        for p in periods:
            cells = raw[p.key][code]
            for cell, value in cells.items():
                values[f"{p.key}|{cell}"] = int(value)
            if indicator.has_total and len(cells) > 1:
                equations.append(Equation(f"{p.key}|{TOTAL}", tuple(
                    f"{p.key}|{c}" for c in cells if c != TOTAL)))
            if p.months and indicator.additive_in_year:
                for cell in cells:
                    equations.append(Equation(f"{p.key}|{cell}", tuple(
                        f"{m}|{cell}" for m in p.months)))
            elif p.months and indicator.aggregation == "last":
                for cell in cells:
                    equations.append(Equation(f"{p.key}|{cell}", (f"{p.months[-1]}|{cell}",)))
        hidden = protect(values, equations, k)
        for p in periods:
            published[p.key][code] = {
                cell: (None if f"{p.key}|{cell}" in hidden else value)
                for cell, value in raw[p.key][code].items()}
    return published
