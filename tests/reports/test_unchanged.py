"""The shortcut of a re-run that finds nothing new (`reports.unchanged_set`): when it says
a published set is unchanged, running the suppression again gives exactly the latest
payloads, so skipping it changes nothing the department sees."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from harmnet.indicators import BY_CODE, TOTAL
from harmnet.services import reports
from tests.reports.test_period_properties import MONTHS, PERIODS, published_sets

SPANS = [*(reports.month_span(m) for m in MONTHS),
         reports.Span("2024-Q1", "quarter", "2024-01", "2024-03"),
         reports.Span("2024-Q2", "quarter", "2024-04", "2024-05"),
         reports.Span("2024", "year", "2024-01", "2024-05")]
GROUP, DEPARTMENT = 1, 1


def latest_of(raw, k):  # type: ignore[no-untyped-def]
    """The set as the last run stored it: (version, checksum, department, through, payload)."""
    payloads = reports.publish(SPANS, raw, k)
    return {(GROUP, s.key): (1, reports.checksum(payloads[s.key]), DEPARTMENT, s.through,
                             payloads[s.key]) for s in SPANS}


def keep_of(raw, latest):  # type: ignore[no-untyped-def]
    return {s.key: reports.still_hidden(latest[(GROUP, s.key)][4], raw[s.key]) for s in SPANS}


def derive(raw, code):  # type: ignore[no-untyped-def]
    """Quarters and year of an additive or `last` indicator again from its months."""
    indicator = BY_CODE[code]
    for p in PERIODS[len(MONTHS):]:
        months = [raw[m][code] for m in p.months]
        raw[p.key][code] = ({c: sum(x[c] for x in months) for c in months[0]}
                            if indicator.additive_in_year else dict(months[-1]))


@settings(max_examples=150, deadline=None)
@given(published_sets(), st.data())
def test_a_set_found_unchanged_publishes_as_before(data, draw):  # type: ignore[no-untyped-def]
    raw, k = data
    assert len(SPANS) == len(PERIODS)
    latest = latest_of(raw, k)
    assert reports.unchanged_set(GROUP, DEPARTMENT, SPANS, raw, k, latest, keep_of(raw, latest))
    # Move one person between two hidden cells of a month (the month's total, and every
    # figure shown, stay as they were): found unchanged, and rightly so.
    code = "reached_first_time"
    month = draw.draw(st.sampled_from(MONTHS))
    hidden = [c for c, v in latest[(GROUP, month)][4]["values"][code].items()
              if v is None and c != TOTAL]
    moved = {m: {c: dict(cells) for c, cells in raw[m].items()} for m in raw}
    if len(hidden) >= 2:
        a, b = draw.draw(st.permutations(hidden))[:2]
        if moved[month][code][a] > 0:
            moved[month][code][a] -= 1
            moved[month][code][b] += 1
            derive(moved, code)
    keep = keep_of(moved, latest)
    if reports.unchanged_set(GROUP, DEPARTMENT, SPANS, moved, k, latest, keep):
        again = reports.publish(SPANS, moved, k, keep)
        assert all(again[s.key] == latest[(GROUP, s.key)][4] for s in SPANS)
    # A shown figure that moves is never taken for unchanged.
    shown = [(m, c) for m in MONTHS
             for c, v in latest[(GROUP, m)][4]["values"]["active_members"].items()
             if v is not None]
    if shown:
        m, c = draw.draw(st.sampled_from(shown))
        changed = {p: {x: dict(cells) for x, cells in raw[p].items()} for p in raw}
        changed[m]["active_members"][c] += 1
        derive(changed, "active_members")
        assert not reports.unchanged_set(GROUP, DEPARTMENT, SPANS, changed, k, latest,
                                         keep_of(changed, latest))


def test_a_new_threshold_or_month_is_not_unchanged():  # type: ignore[no-untyped-def]
    raw = {s.key: reports.empty_values() for s in SPANS}
    latest = latest_of(raw, 5)
    keep = keep_of(raw, latest)
    assert reports.unchanged_set(GROUP, DEPARTMENT, SPANS, raw, 5, latest, keep)
    assert not reports.unchanged_set(GROUP, DEPARTMENT, SPANS, raw, 3, latest, keep)
    assert not reports.unchanged_set(GROUP, 2, SPANS, raw, 5, latest, keep)
    longer = [*SPANS[:-1], reports.Span("2024", "year", "2024-01", "2024-06")]
    assert not reports.unchanged_set(GROUP, DEPARTMENT, longer, raw, 5, latest, keep)
