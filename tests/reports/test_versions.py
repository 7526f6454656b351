"""Suppression against a department that keeps every version it was shown.

Closing a month publishes the whole reporting year so far (each month, each quarter to
date, the year to date), and each later month publishes it again: the quarter and the year
through an earlier month, and the versions a late correction replaced, stay in the
department's saved pages and exports. This test runs the real month-closing code month
after month over random data of one group, with late corrections in between, collects every
figure of every version, and checks by linear programming that each cell hidden in the
current versions admits at least two non-negative values given all of them and what a
reader knows of the aggregation:

- a table's cells add up to its total;
- a `sum` period (and persons reached for the first time in the year) is its months added
  up, a `last` one equals its last month;
- persons reached over a span that starts with the year are, cell by cell, the persons
  reached for the first time in the year over that span;
- a `distinct` period lies between its largest month and the sum of its months, and does
  not shrink as the span grows (a quarter to date within a longer one, or within the year).

An earlier figure enters as a known value when it is still true of the current data (the
reader cannot tell which are: assuming the true ones is the strongest reader); one that a
late correction made untrue describes data that no longer exist.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import numpy as np
import pytest
from scipy.optimize import linprog

from harmnet.indicators import CATALOGUE, TOTAL
from harmnet.models import ReportSnapshot
from harmnet.services import reports
from harmnet.suppression import JOINED
from harmnet.tenancy import group_context

MONTHS = [f"2024-{m:02d}" for m in range(1, 9)]
PERSONS = [i for i in CATALOGUE if i.counts_persons]


def build(b, rnd: random.Random) -> list:  # type: ignore[no-untyped-def]
    """Few clients over few cells, so that small counts are common."""
    sexes = ["F", "M"]
    bands = ["18-24", "25-34"]
    clients = [b.client(rnd.choice(sexes), rnd.choice(bands), first=date(2024, 1, 1))
               for _ in range(rnd.randint(4, 14))]
    for _ in range(rnd.randint(15, 60)):
        on = date(2024, 1, 1) + timedelta(days=rnd.randint(0, 240))
        if rnd.random() < 0.2:
            b.contact(on, None, "group_session", participants_count=rnd.randint(0, 9))
        else:
            contact = b.contact(on, rnd.choice(clients))
            if rnd.random() < 0.3:
                b.referral(contact, rnd.choice(["hiv_test", "prep", "pep"]), on,
                           rnd.choice(["referred", "completed"]), on)
    for i in range(rnd.randint(1, 8)):
        b.member(f"M{i}", role=rnd.choice(["peer_educator", "volunteer"]),
                 joined=date(2024, 1, 1) + timedelta(days=rnd.randint(0, 200)))
    return clients


def correct(b, rnd: random.Random, clients: list, before: str) -> None:  # type: ignore[no-untyped-def]
    """A late correction: a contact entered late in a month already closed."""
    first, _ = reports.month_bounds("2024-01")
    _, end = reports.month_bounds(before)
    on = first + timedelta(days=rnd.randint(0, (end - first).days - 1))
    if rnd.random() < 0.3:
        b.contact(on, None, "group_session", participants_count=rnd.randint(1, 4))
    else:
        b.contact(on, rnd.choice(clients))


def versions(group_id: int) -> list[ReportSnapshot]:
    from sqlalchemy import select

    from harmnet.extensions import db

    with group_context(group_id):
        return list(db.session.scalars(select(ReportSnapshot).where(
            ReportSnapshot.group_id == group_id).order_by(ReportSnapshot.period,
                                                          ReportSnapshot.version)))


def truth(group, spans: set[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """The current data's values of every span (first, through) ever published."""
    months = sorted({m for first, through in spans
                     for m in reports.months_between(first, through)})
    objs = [reports.month_span(m) for m in months]
    objs += [reports.Span(f"{first}~{through}", "quarter", first, through)
             for first, through in sorted(spans) if first != through]
    with group_context(group.id):
        values = reports.compute_set(reports._session_run, [group.id], objs, tz=group.timezone,
                                     fy_start_month=1)[group.id]
    return {(s.first, s.through): values[s.key] for s in objs}


def leaks(snapshots: list[ReportSnapshot], epochs: list[dict], epoch_of: dict[int, int]
          ) -> list[str]:
    """Cells hidden in the current versions that every published figure together pins.
    `epochs`: the true values of every span after each batch of late corrections (the last
    is the present); `epoch_of`: snapshot id -> the epoch it was written in."""
    true = epochs[-1]
    current: dict[str, ReportSnapshot] = {}
    for snap in snapshots:
        current[snap.period] = snap  # ordered by version
    spans = sorted(true)
    out = []
    by_code = {i.code: i for i in PERSONS}
    together = [JOINED] + [(i.code,) for i in PERSONS if i.code not in JOINED]
    for codes in together:
        names = [(code, s, c) for code in codes for s in spans for c in by_code[code].cells]
        var = {name: i for i, name in enumerate(names)}
        a_eq, b_eq, a_ub, b_ub = [], [], [], []

        def row(terms, var=var):  # type: ignore[no-untyped-def]
            r = np.zeros(len(var))
            for key, coef in terms:
                r[var[key]] += coef
            return r

        for code in codes:
            indicator = by_code[code]
            cells = list(indicator.cells)
            for s in spans:
                months = [(m, m) for m in reports.months_between(*s)]
                if indicator.has_total and len(cells) > 1:
                    a_eq.append(row([((code, s, TOTAL), 1)]
                                    + [((code, s, c), -1) for c in cells if c != TOTAL]))
                    b_eq.append(0)
                if len(months) == 1:
                    continue
                for c in cells:
                    if indicator.additive_in_year:
                        a_eq.append(row([((code, s, c), 1)]
                                        + [((code, m, c), -1) for m in months]))
                        b_eq.append(0)
                    elif indicator.aggregation == "last":
                        a_eq.append(row([((code, s, c), 1), ((code, months[-1], c), -1)]))
                        b_eq.append(0)
                    else:
                        for m in months:  # at least its largest month
                            a_ub.append(row([((code, m, c), 1), ((code, s, c), -1)]))
                            b_ub.append(0)
                        a_ub.append(row([((code, s, c), 1)]
                                        + [((code, m, c), -1) for m in months]))
                        b_ub.append(0)  # at most the sum of its months
                        for o in spans:  # no smaller than a span it contains
                            if o != s and o[0] >= s[0] and o[1] <= s[1] and o[0] != o[1]:
                                a_ub.append(row([((code, o, c), 1), ((code, s, c), -1)]))
                                b_ub.append(0)
        if codes == JOINED:
            # Persons reached over a span that starts with the year are those reached for
            # the first time in its months: the same figure, cell by cell.
            reached, first_time = JOINED
            for s in spans:
                if s[0] == MONTHS[0]:
                    for c in by_code[reached].cells:
                        a_eq.append(row([((reached, s, c), 1), ((first_time, s, c), -1)]))
                        b_eq.append(0)
        known: dict[tuple, int] = {}
        for snap in snapshots:
            s = (snap.payload["first"], snap.payload["through"])
            later = epochs[epoch_of[snap.id]:]
            for code in codes:
                for c, v in snap.payload["values"][code].items():
                    # A figure the reader can take as still true: its value has not moved
                    # since it was shown (one that moved and came back cannot be told apart
                    # from one that moved for good).
                    if v is not None and all(e[s][code][c] == v for e in later):
                        known[(code, s, c)] = v
        for key, v in known.items():
            a_eq.append(row([(key, 1)]))
            b_eq.append(v)
        kwargs = {"bounds": [(0, None)] * len(var), "method": "highs",
                  "A_eq": np.array(a_eq), "b_eq": np.array(b_eq, dtype=float)}
        if a_ub:
            kwargs.update(A_ub=np.array(a_ub), b_ub=np.array(b_ub, dtype=float))
        for period, snap in sorted(current.items()):
            s = (snap.payload["first"], snap.payload["through"])
            for code in codes:
                for c, v in snap.payload["values"][code].items():
                    if v is not None:
                        continue
                    value = true[s][code][c]
                    if (code, s, c) in known:
                        out.append(f"{code} {period}|{c} = {value}: shown in an earlier "
                                   f"version")
                        continue
                    goal = np.zeros(len(var))
                    goal[var[(code, s, c)]] = 1
                    low, high = linprog(goal, **kwargs), linprog(-goal, **kwargs)
                    assert low.status == 0, "the published figures must admit the true values"
                    upper = float("inf") if high.status == 3 else -high.fun
                    if upper - low.fun < 1 - 1e-6:
                        out.append(f"{code} {period}|{c} = {value}: pinned by the versions "
                                   f"kept")
    return out


#: Every span a month of MONTHS publishes.
SPANS = {(s.first, s.through) for m in MONTHS for s in reports.published_set(m, 1)}


def close_months_with_corrections(db, group, b, rnd  # type: ignore[no-untyped-def]
                                  ) -> tuple[list[dict], dict[int, int]]:
    """Close each month in turn, with late corrections in between; returns the true values
    of every span after each batch of corrections, and the epoch of each snapshot."""
    clients = build(b, rnd)
    db.session.commit()
    epochs = [truth(group, SPANS)]
    epoch_of: dict[int, int] = {}

    def close(month: str, reason: str = "monthly") -> None:
        for snap, created in reports.close_month(group.id, month, reason=reason):
            if created:
                epoch_of[snap.id] = len(epochs) - 1
        db.session.commit()

    for i, month in enumerate(MONTHS):
        if i and rnd.random() < 0.5:
            for _ in range(rnd.randint(1, 3)):
                correct(b, rnd, clients, MONTHS[i - 1])
            db.session.commit()
            epochs.append(truth(group, SPANS))
            if rnd.random() < 0.5:  # the daily look for late corrections re-closes the month
                close(MONTHS[i - 1], "correction")
        close(month)
    return epochs, epoch_of


@pytest.mark.parametrize("seed", range(8))
def test_every_hidden_cell_admits_two_values_given_every_version(db, make_group, builder, seed
                                                                 ):  # type: ignore[no-untyped-def]
    group = make_group()
    from harmnet.models import Department

    db.session.get(Department, group.department_id).suppression_threshold = 5
    db.session.commit()
    rnd = random.Random(seed)
    epochs, epoch_of = close_months_with_corrections(db, group, builder(group), rnd)
    found = leaks(versions(group.id), epochs, epoch_of)
    assert not found, "\n".join(found)
