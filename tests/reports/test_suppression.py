"""Small-cell suppression: no suppressed cell can be worked out from what is published."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from harmnet.indicators import BY_CODE, SEX_AGE_CELLS, TOTAL, UNKNOWN
from harmnet.suppression import Equation, apply, suppress, suppress_indicators

small_or_large = st.one_of(st.integers(0, 6), st.integers(0, 60))


@st.composite
def tables(draw):  # type: ignore[no-untyped-def]
    """Random tables: a few disjoint `total = sum(cells)` equations and independent cells."""
    values: dict[str, int] = {}
    equations = []
    for e in range(draw(st.integers(0, 3))):
        members = [f"e{e}c{i}" for i in range(draw(st.integers(1, 9)))]
        for m in members:
            values[m] = draw(small_or_large)
        values[f"e{e}t"] = sum(values[m] for m in members)
        equations.append(Equation(f"e{e}t", tuple(members)))
    for i in range(draw(st.integers(0, 4))):
        values[f"free{i}"] = draw(small_or_large)
    k = draw(st.integers(2, 11))
    return values, equations, k


def value_range(values, equations, hidden, key):  # type: ignore[no-untyped-def]
    """(min, max) of `key` over all non-negative tables that agree with what is published."""
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
    low = linprog(c, **kwargs)
    high = linprog(-c, **kwargs)
    assert low.status == 0, "the published table must admit the true values"
    upper = float("inf") if high.status == 3 else -high.fun
    return low.fun, upper


@settings(max_examples=300, deadline=None)
@given(tables())
def test_every_suppressed_cell_admits_two_values(table):  # type: ignore[no-untyped-def]
    values, equations, k = table
    hidden = suppress(values, equations, k)
    for key in hidden:
        low, high = value_range(values, equations, hidden, key)
        assert high - low >= 1 - 1e-9, (key, values, sorted(hidden))


@settings(max_examples=300, deadline=None)
@given(tables())
def test_small_counts_hidden_and_zeros_shown(table):  # type: ignore[no-untyped-def]
    values, equations, k = table
    hidden = suppress(values, equations, k)
    published = apply(values, hidden)
    for key, value in values.items():
        if 1 <= value < k:
            assert published[key] is None  # suppressed, never shown as a number
        if key in hidden:
            assert published[key] is None
        else:
            assert published[key] == value
    # A table whose every cell is 0 or >= k needs no suppression at all.
    if all(v == 0 or v >= k for v in values.values()):
        assert not hidden


def test_complementary_cell_is_the_smallest_positive_one():
    values = {"t": 20, "a": 3, "b": 9, "c": 0, "d": 8}
    hidden = suppress(values, [Equation("t", ("a", "b", "c", "d"))], 5)
    assert hidden == {"a", "d"}


def test_total_is_hidden_when_no_other_cell_can_be():
    values = {"t": 3, "a": 3}
    assert suppress(values, [Equation("t", ("a",))], 5) == {"t", "a"}


def test_indicator_tables_follow_the_catalogue():
    reached = {TOTAL: 12, UNKNOWN: 0, **dict.fromkeys(SEX_AGE_CELLS, 0)}
    reached["F:18-24"] = 9
    reached["F:25-34"] = 3
    out = suppress_indicators({"reached": reached, "contacts": {TOTAL: 2},
                               "referred": {"hiv_test": 2, "pep": 0, "prep": 7}}, k=5)
    assert out["reached"][TOTAL] == 12
    assert out["reached"]["F:25-34"] is None and out["reached"]["F:18-24"] is None
    assert out["reached"]["M:50+"] == 0
    assert out["contacts"][TOTAL] == 2  # not a person count
    assert out["referred"] == {"hiv_test": None, "pep": 0, "prep": 7}
    assert BY_CODE["referred"].has_total is False
