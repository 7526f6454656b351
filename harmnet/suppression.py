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
   between two groups of suppressed cells). After rule 2, an elimination finds every
   suppressed cell that the published equations determine, and one more term of an
   equation through it is suppressed, until none is; likewise a suppressed 0 that a
   published total of 0 pins down.
"""

from __future__ import annotations

from collections import defaultdict
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
    keep: Iterable[str] = (),
    known: frozenset[str] | set[str] = frozenset(),
) -> frozenset[str]:
    """The keys to suppress in `values` (every key is a person count unless `person_keys`);
    `keep`: keys suppressed already in an earlier version, which stay suppressed;
    `known`: keys whose value the reader knows already (shown by an earlier version, or a
    figure of an earlier version that is not in this table): they protect nothing, so
    they are never chosen to protect another key (see `_complete`)."""
    for key, value in values.items():
        if value < 0:
            raise ValueError(f"negative count in cell {key!r}")
    start = primary(values, k, person_keys) | (set(keep) & set(values))
    return _complete(values, equations, start - known, known) | (start & known)


def _complete(values: Mapping[str, int], equations: Sequence[Equation], hidden: set[str],
              known: frozenset[str] | set[str] = frozenset()) -> frozenset[str]:
    """Rule 2 from a starting set of suppressed keys (none `known`: a known key counts as
    published, and is never picked)."""
    hidden = set(hidden)
    changed = bool(hidden)
    while changed:
        changed = False
        for eq in equations:
            terms = (eq.total, *eq.members)
            if sum(term in hidden for term in terms) != 1:
                continue
            candidates = [m for m in eq.members if m not in hidden and m not in known]
            if candidates:
                # Positive values first, smallest first; zeros last; ties by key (stable).
                pick = min(candidates, key=lambda m: (values[m] == 0, values[m], m))
            elif eq.total not in hidden and eq.total not in known:
                pick = eq.total
            else:  # every other term is known: the reader had the key already
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


#: Elimination runs modulo this prime (2**61 - 1): the equations have coefficients 0 and +-1,
#: and a rank over the rationals differs modulo a prime this large only if the prime divides
#: a minor of the matrix, which for these small sparse systems does not happen in practice
#: (the tests check the result against exact linear programming).
_PRIME = (1 << 61) - 1


def determined(equations: Sequence[Equation], hidden: Iterable[str]) -> set[str]:
    """The suppressed keys whose value the published equations fix (whatever the values):
    a key is fixed when it is zero in every solution of the homogeneous system over the
    suppressed keys, found by sparse Gauss-Jordan elimination."""
    return set(fixed_by(equations, hidden))


def fixed_by(equations: Sequence[Equation], hidden: Iterable[str], prove: bool = True,
             only: set[int] | None = None) -> dict[str, dict[int, int]]:
    """Each suppressed key the published equations fix (see `determined`), with the proof:
    coefficients of the equations (by index) whose combination, over the suppressed keys,
    is that key alone. Suppressing one more term that this combination does not cancel
    (`breakers`) undoes that proof. With `prove` False the proofs are left empty (half the
    work: enough to learn whether any key is fixed). `only`: the indexes of the equations to
    look at (whole connected parts of the system: a key's fate depends on its part only).
    """
    hidden = set(hidden)
    rows: list[tuple[dict[str, int], dict[int, int]]] = []
    for i, eq in enumerate(equations):
        if only is not None and i not in only:
            continue
        row: dict[str, int] = {}
        for key, coef in ((eq.total, 1), *((m, -1) for m in eq.members)):
            if key in hidden:
                row[key] = (row.get(key, 0) + coef) % _PRIME
        row = {key: v for key, v in row.items() if v}
        if row:
            rows.append((row, {i: 1} if prove else {}))
    # pivot key -> its row (pivot coefficient 1) and the row's combination of equations
    reduced: dict[str, tuple[dict[str, int], dict[int, int]]] = {}
    # key -> the pivots whose reduced row holds it (a reduced row holds its own pivot and
    # keys that are no pivot: subtracting one never brings in another pivot)
    holders: dict[str, dict[str, None]] = defaultdict(dict)  # ordered: deterministic

    def minus(a: dict, b: dict, f: int, owner: str | None = None) -> None:  # type: ignore[type-arg]
        """a -= f * b, in place (with `owner`, the pivot of row `a`: `holders` follow)."""
        for key, v in b.items():
            value = (a.get(key, 0) - f * v) % _PRIME
            if value:
                if owner is not None and key not in a:
                    holders[key][owner] = None
                a[key] = value
            elif key in a:
                del a[key]
                if owner is not None:
                    holders[key].pop(owner, None)

    for row, proof in rows:
        for pivot in [key for key in row if key in reduced]:
            f = row.get(pivot)
            if f:
                prow, pproof = reduced[pivot]
                minus(row, prow, f)
                minus(proof, pproof, f)
        if not row:
            continue
        pivot = min(row)
        inverse = pow(row[pivot], _PRIME - 2, _PRIME)
        row = {key: v * inverse % _PRIME for key, v in row.items()}
        proof = {key: v * inverse % _PRIME for key, v in proof.items()}
        for other in holders.pop(pivot, {}):
            orow, oproof = reduced[other]
            f = orow.get(pivot)
            if f:
                minus(orow, row, f, other)
                minus(oproof, proof, f)
        for key in row:
            if key != pivot:
                holders[key][pivot] = None
        reduced[pivot] = (row, proof)
    # A pivot whose reduced row holds no other key has one value in every solution.
    return {pivot: proof for pivot, (row, proof) in reduced.items() if len(row) == 1}


def breakers(equations: Sequence[Equation], proof: dict[int, int], hidden: set[str]
             ) -> set[str]:
    """The published terms whose suppression undoes `proof` (their coefficient in the
    combination of equations is not zero)."""
    coefs: dict[str, int] = {}
    for i, f in proof.items():
        eq = equations[i]
        for key, coef in ((eq.total, 1), *((m, -1) for m in eq.members)):
            if key not in hidden:
                coefs[key] = (coefs.get(key, 0) + f * coef) % _PRIME
    return {key for key, v in coefs.items() if v}


def protect(values: Mapping[str, int], equations: Sequence[Equation], k: int,
            person_keys: Iterable[str] | None = None, keep: Iterable[str] = (),
            known: frozenset[str] | set[str] = frozenset()) -> frozenset[str]:
    """Rules 1 and 2, then suppress more until no suppressed key is fixed by the equations
    (rule 3; needed where keys sit in several equations). Each round suppresses one more
    term per fixed key (the smallest positive published term of an equation through it),
    so a grid takes a few rounds, not one per cell. `known` keys (see `suppress`) are
    published values in the equations and are never picked; those of them that rules 1
    and 2 hide (a count now small, a key hidden before) are returned hidden as well."""
    touching: dict[str, list[Equation]] = {}
    through: dict[str, list[int]] = {}  # term -> indexes of the equations through it
    for i, eq in enumerate(equations):
        for term in (eq.total, *eq.members):
            touching.setdefault(term, []).append(eq)
            through.setdefault(term, []).append(i)

    def rank(t: str) -> tuple:
        return (values[t] == 0, values[t], t)

    def part(keys: set[str]) -> set[int]:
        """The equations connected to `keys` through suppressed keys."""
        found: set[int] = set()
        stack, reached = list(keys), set(keys)
        while stack:
            for i in through.get(stack.pop(), ()):
                if i in found:
                    continue
                found.add(i)
                eq = equations[i]
                for t in (eq.total, *eq.members):
                    if t in hidden and t not in reached:
                        reached.add(t)
                        stack.append(t)
        return found

    start = set(suppress(values, equations, k, person_keys, keep, known))
    shown_before = start & known
    hidden = start - known
    repaired = False
    # After the first elimination, only the parts of the system that changed since (keys
    # suppressed since, keys found fixed) are eliminated again: suppressing more never
    # fixes a key of a part it does not touch.
    since: set[str] | None = None
    while True:
        added: set[str] = set()
        # An equation with a published total whose suppressed members are all 0 pins them
        # to 0 (counts are never negative): suppress a positive member (or the total) too.
        for eq in equations:
            members = [m for m in eq.members if m in hidden or m in added]
            if eq.total in hidden or not members or any(values[m] for m in members):
                continue
            positive = [m for m in eq.members
                        if m not in hidden and m not in known and values[m] > 0]
            if positive:
                added.add(min(positive, key=rank))
            elif eq.total not in known:
                added.add(eq.total)
        if not added:
            # Equations holding no suppressed term yet, kept up to date as terms are added.
            unopened = {i for i, eq in enumerate(equations)
                        if not any(x in hidden for x in (eq.total, *eq.members))}
            # After a round of repairs most sets are done: look without the proofs first.
            only = None if since is None else part(since)
            fixed = fixed_by(equations, hidden, prove=not repaired, only=only)
            if fixed and repaired:
                fixed = fixed_by(equations, hidden, only=only)
            repaired = True
            since = set(fixed)
            for key in sorted(fixed):
                # Only a term of the equations that fix the key can unfix it: one that
                # does not cancel out of their combination.
                pool = list(breakers(equations, fixed[key], hidden) - known)
                if added.intersection(pool):
                    continue  # a term added this round already undoes this proof
                if not pool:
                    near = touching.get(key, [])
                    pool = [t for eq in near for t in (eq.total, *eq.members)
                            if t not in hidden and t not in known]
                if not pool:
                    pool = [t for eq in equations
                            if any(x in hidden for x in (eq.total, *eq.members))
                            for t in (eq.total, *eq.members)
                            if t not in hidden and t not in known]
                if pool:
                    # Prefer a term whose other equations already hold a suppressed term:
                    # it closes a cycle instead of opening a new line to protect.
                    pick = min(set(pool), key=lambda t, u=unopened: (
                        sum(i in u for i in through.get(t, ())), *rank(t)))
                    added.add(pick)
                    unopened.difference_update(through.get(pick, ()))
        if not added:
            return frozenset(hidden | shown_before)
        before = hidden
        hidden = set(_complete(values, equations, hidden | added, known))
        if since is not None:
            since |= hidden - before


@dataclass(frozen=True)
class Period:
    """One table of a published set: its key and, for a quarter or a year, the keys of the
    months it is made of (all present in the set)."""

    key: str
    months: tuple[str, ...] = ()


#: Persons reached over a span that starts with the reporting year (its first month, its
#: first quarter, the year) are, cell by cell, the persons reached for the first time in
#: each month of that span added up: the two tables are one system of equations.
JOINED = ("reached", "reached_first_time")


def suppress_joined(systems: Mapping[str, tuple[dict[str, int], list[Equation], set[str],
                                                 set[str]]],
                    periods: Sequence[Period],
                    cells: Mapping[str, Iterable[str]], k: int) -> frozenset[str]:
    """The keys (``code:period|cell``) to hide of the `JOINED` indicators, suppressed as one
    system: each one's values, equations, kept and known keys (`systems`), and
    ``reached[p][cell] = reached_first_time[p][cell]`` for every period that starts with
    the year's first month (`cells[p]`: its cells)."""
    values: dict[str, int] = {}
    equations: list[Equation] = []
    kept: set[str] = set()
    known: set[str] = set()
    for code, (own_values, own_equations, own_kept, own_known) in systems.items():
        pre = f"{code}:"
        values.update({pre + key: value for key, value in own_values.items()})
        equations += [Equation(pre + eq.total, tuple(pre + m for m in eq.members))
                       for eq in own_equations]
        kept |= {pre + key for key in own_kept}
        known |= {pre + key for key in own_known}
    year = max(periods, key=lambda p: len(p.months or ()))  # the year to date
    first = (year.months or (year.key,))[0]
    reached, first_time = JOINED
    for p in periods:
        if (p.months or (p.key,))[0] != first:
            continue
        # Written whatever the values: the equations then do not move with the data (a set
        # found unchanged publishes as before), and one more equation only ever hides more.
        equations += [Equation(f"{first_time}:{p.key}|{cell}", (f"{reached}:{p.key}|{cell}",))
                      for cell in cells[p.key]]
    return protect(values, equations, k, keep=kept, known=known)


def suppress_published_set(
    raw: Mapping[str, Mapping[str, Mapping[str, int | float]]],
    periods: Sequence[Period],
    k: int,
    keep: Mapping[str, Iterable[tuple[str, str]]] | None = None,
    seen: Iterable[tuple[tuple[str, ...], Mapping[str, Mapping[str, int | float | None]]]] = (),
) -> dict[str, dict[str, dict[str, int | float | None]]]:
    """Suppress every person-count indicator over a set of periods published together
    (``raw[period key][indicator code][cell]``), so that no suppressed cell can be worked
    out from the period's own total nor from the other periods: a quarter of an additive
    indicator equals the sum of its months, a `last` quarter equals its last month.
    `keep[period key]`: (indicator, cell) pairs an earlier version of that period (through
    the same month) suppressed; they stay suppressed, so that re-running the set as months
    go by only ever hides more, and a version never shows what an older one hid.
    `seen`: what earlier versions showed, as (months the table covers, its values with
    None where hidden), any period of the year and any version; a reader keeps them (see
    `known_figures`)."""
    from .indicators import BY_CODE, TOTAL

    published: dict[str, dict[str, dict[str, int | float | None]]] = {p.key: {} for p in periods}
    codes = list(next(iter(raw.values())).keys()) if raw else []
    span_of = {p.months or (p.key,): p.key for p in periods}
    seen = list(seen)
    kept_by_code: dict[str, set[str]] = defaultdict(set)
    for key, pairs in (keep or {}).items():
        for c, cell in pairs:
            kept_by_code[c].add(f"{key}|{cell}")
    # The keys and equations of a shape of table (its cells, its aggregation) are the same
    # for every indicator of that shape: made once per set.
    shapes: dict[tuple, tuple[list[tuple[str, str, str]], list[Equation]]] = {}
    def system(code: str) -> tuple[dict[str, int], list[Equation], set[str], set[str], bool]:
        """One indicator's keys (``period|cell``) with their values, its equations, the
        keys an earlier version hid, the keys a reader knows, and whether it is a grid."""
        indicator = BY_CODE[code]
        kept = kept_by_code.get(code, set())
        additive = indicator.additive_in_year
        last = indicator.aggregation == "last"
        shape = (tuple(tuple(raw[p.key][code]) for p in periods), indicator.has_total,
                 additive, last)
        if shape not in shapes:
            keys: list[tuple[str, str, str]] = []
            shape_equations: list[Equation] = []
            for p in periods:
                cells = raw[p.key][code]
                keys += [(p.key, cell, f"{p.key}|{cell}") for cell in cells]
                if indicator.has_total and len(cells) > 1:
                    shape_equations.append(Equation(f"{p.key}|{TOTAL}", tuple(
                        f"{p.key}|{c}" for c in cells if c != TOTAL)))
                if p.months and additive:
                    for cell in cells:
                        shape_equations.append(Equation(f"{p.key}|{cell}", tuple(
                            f"{m}|{cell}" for m in p.months)))
                elif p.months and last:
                    for cell in cells:
                        shape_equations.append(Equation(f"{p.key}|{cell}",
                                                        (f"{p.months[-1]}|{cell}",)))
            shapes[shape] = (keys, shape_equations)
        keys, shape_equations = shapes[shape]
        values: dict[str, int] = {name: int(raw[pk][code][cell]) for pk, cell, name in keys}
        equations = list(shape_equations)
        known = known_figures(code, raw, span_of, seen, values, equations, additive, last)
        # Without cross-period equations every key sits in one equation at most, where
        # rules 1 and 2 are enough; the grid of an additive or `last` indicator needs rule 3.
        return values, equations, kept, known, additive or last

    def small_or_kept(code: str) -> bool:
        return bool(kept_by_code.get(code)) or any(
            0 < v < k for p in periods for v in raw[p.key][code].values())

    def publish(code: str, hidden: Iterable[str], prefix: str = "") -> None:
        hidden = set(hidden)
        for p in periods:
            published[p.key][code] = {
                cell: (None if f"{prefix}{p.key}|{cell}" in hidden else value)
                for cell, value in raw[p.key][code].items()}

    joined = [c for c in JOINED if c in codes]
    if len(joined) == len(JOINED) and any(small_or_kept(c) for c in joined):
        hidden = suppress_joined({c: system(c)[:4] for c in joined}, periods,
                                 {p.key: raw[p.key][JOINED[0]] for p in periods}, k)
        for code in joined:
            publish(code, hidden, prefix=f"{code}:")
    else:
        joined = []
    for code in codes:
        if code in joined:
            continue
        if not BY_CODE[code].counts_persons or not small_or_kept(code):
            # Nothing small and nothing hidden before: nothing to hide (rules 1 to 3 start
            # from the small and the kept cells).
            publish(code, ())
            continue
        values, equations, kept, known, crossed = system(code)
        hidden = (protect(values, equations, k, keep=kept, known=known) if crossed
                  else suppress(values, equations, k, keep=kept, known=known))
        publish(code, hidden)
    return published


def known_figures(code: str, raw: Mapping[str, Mapping[str, Mapping[str, int | float]]],
                  span_of: Mapping[tuple[str, ...], str],
                  seen: Sequence[tuple[tuple[str, ...],
                                       Mapping[str, Mapping[str, int | float | None]]]],
                  values: dict[str, int], equations: list[Equation], additive: bool,
                  last: bool) -> set[str]:
    """The keys of one indicator's published set that a reader who kept every earlier
    version knows already, and the equations those versions add (appended to `equations`,
    their known figures to `values`). An earlier figure still true of the present data:

    - of a table in the set (the same months): that key is known, so hiding it now as a
      complement would protect nothing;
    - of a `last` table the set no longer holds (a quarter or year through an earlier
      month): it is that month's value, known;
    - of an additive one: a known total of its months (the year through May, while June is
      hidden, gives June as the year through June minus it). Only an equation with a key
      that is not known can teach anything, so only those are added.

    A figure a late correction made untrue describes data that no longer exist. `distinct`
    tables of other spans give only inequalities, which pin no key the equations leave
    free in practice (tests/reports/test_versions.py checks)."""
    known: set[str] = set()
    old: set[tuple[tuple[str, ...], str, int | float]] = set()
    for months, figures in seen:
        cells = figures.get(code)
        if not cells:
            continue
        key = span_of.get(months)
        if key is not None:
            now = raw[key][code]
            known.update(f"{key}|{cell}" for cell, v in cells.items()
                         if v is not None and now.get(cell) == v)
        elif last:
            now = raw[months[-1]][code]
            known.update(f"{months[-1]}|{cell}" for cell, v in cells.items()
                         if v is not None and now.get(cell) == v)
        elif additive and all(m in raw for m in months):
            for cell, v in cells.items():
                if v is not None:
                    old.add((months, cell, v))
    # Figures of spans that start in the same month (the year through January, through
    # February, ...) are replaced by their differences, an equivalent system with one
    # month or a few in each equation: the year through June minus the year through May
    # is June. Then an equation whose terms are all known but one makes that one known,
    # and only equations with two unknown terms or more are added.
    chains: dict[tuple[str, str], dict[str, tuple[tuple[str, ...], int]]] = defaultdict(dict)
    for months, cell, v in sorted(old):
        members = tuple(f"{m}|{cell}" for m in months)
        if sum(values[m] for m in members) == v:  # still true of the present data
            chains[(months[0], cell)][months[-1]] = (months, int(v))
    pending: list[tuple[tuple[str, ...], int]] = []
    for (_, cell), by_end in chains.items():
        done: tuple[str, ...] = ()
        total = 0
        for end in sorted(by_end):
            months, v = by_end[end]
            pending.append((tuple(f"{m}|{cell}" for m in months[len(done):]), v - total))
            done, total = months, v
    while True:
        left: list[tuple[tuple[str, ...], int]] = []
        learned = False
        for members, v in pending:
            unknown = [m for m in members if m not in known]
            if len(unknown) == 1:
                known.add(unknown[0])
                learned = True
            elif unknown:
                left.append((members, v))
        pending = left
        if not learned:
            break
    for members, v in pending:
        name = f"{members[0]}..{members[-1]}"
        values[name] = v
        known.add(name)
        equations.append(Equation(name, members))
    return known
