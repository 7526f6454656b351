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
    hidden = primary(values, k, person_keys)
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
