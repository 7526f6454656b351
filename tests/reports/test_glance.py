"""The department's pages at a glance: sparklines, changes and the by-group chooser show the
published figures and nothing a hidden one would give away."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from harmnet.department.charts import sparkline
from harmnet.models import Department, ReportSnapshot
from harmnet.services import glance, reports
from harmnet.services.reports import Cell
from tests.support import login


@pytest.fixture
def months(db, make_department, make_group, make_user, builder):  # type: ignore[no-untyped-def]
    """One group under hn: 8 people in March 2024, 3 in April (hidden), 6 in May; one
    contact each. Another department's group, to stay out of sight."""
    make_department("hn", "Hà Nội")
    make_department("hcm", "Hồ Chí Minh")
    group = make_group("hoa-sen", department="hn", name="CLB Hoa Sen")
    far = make_group("far-away", department="hcm", name="Nhóm Xa")
    b = builder(group)
    for month, n in ((3, 8), (4, 3), (5, 6)):
        for i in range(n):
            on = date(2024, month, 2 + i)
            k = b.contact(on, b.client("F", "18-24", on))
            # Referrals by service: some shown, some hidden (by-service headlines add up).
            b.referral(k, "hiv_test" if i % 3 else "sti_care", on)
    fb = builder(far)
    for i in range(7):
        fb.contact(date(2024, 5, 2 + i), fb.client("M", "25-34", date(2024, 5, 2 + i)))
    db.session.commit()
    reports.build_snapshot(group.id, "2024-05")
    reports.build_snapshot(far.id, "2024-05")
    db.session.commit()
    dept = {d.code: d for d in db.session.scalars(select(Department))}
    make_user("dept-viewer", department=dept["hn"], role="viewer")
    make_user("dept-far", department=dept["hcm"], role="viewer")
    return {"group": group.id, "far": far.id}


def card(page: str, code: str) -> str:
    """The dashboard card of one indicator."""
    start = page.index(f'id="i-{code}"')
    return page[start:page.index("</li>", start)]


def spark_x(index: int) -> str:
    """The x coordinate of month `index` (0-11) in a sparkline, as the SVG writes it."""
    s = sparkline([Cell(1, 0, 1)] * 12)
    return re.findall(r"[ML]([\d.]+) ", s.path)[index]


def test_a_hidden_month_is_a_gap_and_its_changes_are_not_shown(client, months):  # type: ignore[no-untyped-def]
    login(client, "dept-viewer")
    page = client.get("/d/hn/?p=2024-05").get_data(as_text=True)
    reached = card(page, "reached")
    assert '<span class="big">6</span>' in reached
    # April's 3 people are hidden: no change against April (6 - 3 = +3 would give it away),
    # and April is a gap in the line: no point at its x, May drawn alone.
    assert "+3" not in reached and "▲" not in reached and "·" in reached
    svg = reached[reached.index("<svg"):reached.index("</svg>")]
    april, may = spark_x(10), spark_x(11)
    assert april not in svg
    assert f'cx="{may}"' in svg
    # The 2023 months have no report: gaps too; January to March 2024 are one line.
    path = re.search(r'<path d="([^"]+)" stroke="#0b5c8c"', svg).group(1)
    assert path.count("M") == 1 and path.count("L") == 2
    # Contacts are events, never hidden: their change is shown, with its percentage.
    assert "▲ +3 (+100%)" in card(page, "contacts")
    # The legend says what the marks mean, on the page itself (no hover titles).
    assert 'class="legend"' in page and "title=" not in reached


def test_april_itself_shows_only_the_mark(client, months):  # type: ignore[no-untyped-def]
    login(client, "dept-viewer")
    page = client.get("/d/hn/?p=2024-04").get_data(as_text=True)
    reached = card(page, "reached")
    assert '<span class="hidden-mark">x</span>' in reached
    # Neither -5 (against March's 8) nor the hidden 3 anywhere in the card's figures.
    assert "-5" not in reached and "−5" not in reached and "▼" not in reached
    assert ">3<" not in reached


def test_a_year_is_compared_with_the_same_months_of_the_year_before(client, months, db):  # type: ignore[no-untyped-def]
    span = reports.parse_spec("2024")
    (previous,) = glance.comparisons(span, "2024-05", 1)
    assert previous.span.key == "2023" and previous.through == "2023-05"
    quarter = reports.parse_spec("2024-Q2")
    prev_q, last_year = glance.comparisons(quarter, "2024-05", 1)
    assert (prev_q.span.key, prev_q.through) == ("2024-Q1", "2024-02")
    assert (last_year.span.key, last_year.through) == ("2023-Q2", "2023-05")
    login(client, "dept-viewer")
    page = client.get("/d/hn/?p=2024").get_data(as_text=True)
    assert "▲" not in card(page, "contacts")  # 2023 has no report: nothing to compare


def test_change_needs_two_exact_figures():  # type: ignore[no-untyped-def]
    assert glance.change(Cell(10, 0, 2), Cell(8, 0, 2)) == glance.Change(2, 25)
    assert glance.change(Cell(10, 0, 2), Cell(0, 0, 2)) == glance.Change(10, None)
    assert glance.change(Cell(10, 1, 2), Cell(8, 0, 2)) is None  # "10+": a lower bound
    assert glance.change(Cell(10, 0, 2), Cell(0, 2, 2)) is None  # "x"
    assert glance.change(Cell(10, 0, 2), Cell()) is None  # no report
    line = sparkline([Cell(5, 0, 1), Cell(7, 1, 2), Cell(), Cell(0, 1, 1), Cell(4, 0, 1)])
    assert line.path == "" and len(line.dots) == 1 and line.last and line.gaps == 3


def test_sql_sums_equal_the_python_sums(months, db):  # type: ignore[no-untyped-def]
    hn = db.session.scalar(select(Department).where(Department.code == "hn"))
    keys = ["2024-03", "2024-04", "2024-05", "2024-Q2", "2024", "2023-05"]
    heads = glance.headlines(hn.id, [glance.Wanted(k) for k in keys])
    for key in keys:
        python = reports.totals(reports.current_snapshots(hn.id, [key]))
        assert glance.period_totals(hn.id, key).cells == python.cells, key
        assert heads[key] == {code: python.headline(code) for code in python.cells}, key


@pytest.fixture
def revised(db, make_department, make_group, builder):  # type: ignore[no-untyped-def]
    """A first quarter of 2024 closed month by month by two groups of hn's subtree (one in
    a district below it), with hidden cells in some months, then a late correction of
    February in one of them (new versions of February, the quarter and the year); and a
    group of another department that must never count."""
    make_department("hn", "Hà Nội")
    make_department("hn-bd", "Ba Đình", parent="hn")
    make_department("hcm", "Hồ Chí Minh")
    sen = make_group("hoa-sen", department="hn", name="CLB Hoa Sen")
    lan = make_group("hoa-lan", department="hn-bd", name="CLB Hoa Lan")
    far = make_group("far-away", department="hcm", name="Nhóm Xa")
    people = {sen: {1: 8, 2: 3, 3: 6}, lan: {1: 2, 2: 7, 3: 5}, far: {1: 9, 2: 9, 3: 9}}
    for group, by_month in people.items():
        b = builder(group)
        for month, n in by_month.items():
            for i in range(n):
                on = date(2024, month, 2 + i)
                k = b.contact(on, b.client("F" if i % 2 else "M", "18-24", on), condoms=i)
                if i % 2:
                    b.referral(k, "hiv_test" if i % 3 else "sti_care", on)
    db.session.commit()
    for month in ("2024-01", "2024-02", "2024-03"):
        for group in people:
            reports.close_month(group.id, month)
        db.session.commit()
    b = builder(sen)  # the late correction: two more people in February
    for i in range(2):
        b.contact(date(2024, 2, 20 + i), b.client("F", "25-34", date(2024, 2, 20 + i)))
    db.session.commit()
    reports.close_month(sen.id, "2024-03", "revision")
    db.session.commit()
    return db.session.scalar(select(Department).where(Department.code == "hn"))


def _current(subtree: list[int], key: str, through: str | None = None
             ) -> list[ReportSnapshot]:
    """The current snapshots of `key`, picked in Python: each group's newest version that
    covers no later than `through`."""
    newest: dict[int, ReportSnapshot] = {}
    for s in reports.db.session.scalars(select(ReportSnapshot).where(
            ReportSnapshot.department_id.in_(subtree), ReportSnapshot.period == key)):
        if (through is None or (s.through or s.period) <= through) and (
                s.group_id not in newest or s.version > newest[s.group_id].version):
            newest[s.group_id] = s
    return list(newest.values())


def test_the_dashboard_sums_equal_the_python_sums_across_versions(revised, db):  # type: ignore[no-untyped-def]
    from harmnet.access import department_subtree_ids

    subtree = department_subtree_ids(revised.id)
    keys = ["2024-01", "2024-02", "2024-03", "2024-Q1", "2024", "2023"]
    heads = glance.headlines(revised.id, [glance.Wanted(k) for k in keys])  # one statement
    # A period so far as it stood when an earlier month closed: older versions.
    limited = [glance.Wanted("2024", "2024-02"), glance.Wanted("2024-Q1", "2024-01")]
    for w in [*(glance.Wanted(k) for k in keys), *limited]:
        snapshots = _current(subtree, w.key, w.through)
        python = reports.totals(snapshots)
        expected = {code: python.headline(code) for code in python.cells}
        got = heads[w.key] if w.through is None else glance.headlines(revised.id, [w])[w.key]
        assert got == expected, w
        if w.through is None:
            assert glance.period_totals(revised.id, w.key).cells == python.cells, w.key
            cover = glance.coverage(revised.id, w.key)
            assert cover == glance.Coverage(len(snapshots), reports.covered_through(snapshots),
                                            reports.revisions(snapshots)), w.key
    assert glance.headlines(revised.id, limited[:1])["2024"] != heads["2024"]
    # What the page shows: the revision counted once per group, hidden cells marked.
    cover = glance.coverage(revised.id, "2024-Q1")
    assert cover.received == 2 and cover.through == "2024-03"
    assert [r.version for r in cover.revised] == [4]  # Jan, Feb, Mar to date, correction
    assert any(c.suppressed for c in glance.period_totals(revised.id, "2024-02")
               .cells["reached"].values())
    assert glance.coverage(revised.id, "2023") == glance.Coverage(0, None, [])


@pytest.fixture
def three(db, make_department, make_group, make_user, builder):  # type: ignore[no-untyped-def]
    """Three groups whose order by name, by contacts and by people reached all differ:
    Alpha 2 people (hidden), Beta 9, Gamma 3 (hidden)."""
    make_department("hn", "Hà Nội")
    make_department("hcm", "Hồ Chí Minh")
    ids = {}
    for slug, name, n in (("alpha", "Alpha", 2), ("beta", "Beta", 9), ("gamma", "Gamma", 3)):
        group = make_group(slug, department="hn", name=name)
        b = builder(group)
        for i in range(n):
            b.contact(date(2024, 5, 2 + i), b.client("F", "18-24", date(2024, 5, 2 + i)))
        ids[slug] = group.id
    far = make_group("far-away", department="hcm", name="Nhóm Xa")
    builder(far).contact(date(2024, 5, 3))
    db.session.commit()
    for gid in (*ids.values(), far.id):
        reports.build_snapshot(gid, "2024-05")
    db.session.commit()
    dept = {d.code: d for d in db.session.scalars(select(Department))}
    make_user("dept-viewer", department=dept["hn"], role="viewer")
    make_user("dept-far", department=dept["hcm"], role="viewer")
    return ids


def order(page: str) -> list[str]:
    """Group names in the phone list, top to bottom."""
    one = page[page.index('<table class="by-one">'):]
    one = one[:one.index("</table>")]
    return re.findall(r'<th scope="row">(\w+)', one)


def test_by_group_shows_one_indicator_and_sorts_without_telling_hidden_values(client, three):  # type: ignore[no-untyped-def]
    login(client, "dept-viewer")
    page = client.get("/d/hn/groups?p=2024-05&i=contacts&sort=value").get_data(as_text=True)
    assert order(page) == ["Beta", "Gamma", "Alpha"]  # 9, 3, 2 contacts (never hidden)
    assert '<caption>' in page and "Nhóm Xa" not in page
    # People reached: Alpha's 2 and Gamma's 3 are hidden. Sorted by value they come last
    # in name order, so the order tells nothing of them (by value Gamma would come first).
    page = client.get("/d/hn/groups?p=2024-05&i=reached&sort=value").get_data(as_text=True)
    assert order(page) == ["Beta", "Alpha", "Gamma"]
    page = client.get("/d/hn/groups?p=2024-05&i=reached&sort=name").get_data(as_text=True)
    assert order(page) == ["Alpha", "Beta", "Gamma"]
    # The chosen indicator is selected in the chooser, the sort links keep it, and the full
    # table is still there for wide screens.
    assert '<option value="reached" selected>' in page
    assert "i=reached&amp;sort=value" in page
    assert 'class="table-wrap by-all"' in page
    for url in ("/d/hn/groups?p=2024-05&i=nope", "/d/hn/groups?p=2024-05&sort=size",
                "/d/hn/groups?p=2024-05&i=referred&sort=value&page=x"):
        assert client.get(url).status_code in (200, 400), url
    assert client.get("/d/hn/groups?p=2024-05&i=nope").status_code == 400
    page = client.get("/d/hn/groups?p=2024-05&i=referred&sort=value").get_data(as_text=True)
    assert sorted(order(page)) == ["Alpha", "Beta", "Gamma"]


def test_by_group_and_dashboard_stay_inside_the_department(app, client, three, make_user, db):  # type: ignore[no-untyped-def]
    from harmnet.models import PeerGroup

    login(client, "dept-far")
    for url in ("/d/hn/groups?p=2024-05&i=reached&sort=value", "/d/hn/?p=2024-05"):
        assert client.get(url).status_code == 404, url
    page = client.get("/d/hcm/groups?p=2024-05&i=contacts&sort=value").get_data(as_text=True)
    assert order(page) == ["Nhóm"] and "Beta" not in page
    # A group's coordinator has no department role: the department's pages are not there.
    make_user("coord-alpha", group=db.session.get(PeerGroup, three["alpha"]), role="coordinator")
    other = app.test_client()
    login(other, "coord-alpha")
    assert other.get("/d/hn/groups?p=2024-05&i=reached&sort=value").status_code == 404


def test_every_indicator_has_its_place_in_the_figure_arrays():  # type: ignore[no-untyped-def]
    from harmnet import indicators

    assert sorted(indicators.FIGURE_ORDER) == sorted(i.code for i in indicators.CATALOGUE)
    assert len(set(indicators.FIGURE_ORDER)) == len(indicators.FIGURE_ORDER)


#: The figure arrays as stored snapshots hold them: how many indicators of FIGURE_ORDER,
#: and a digest of their codes, totals and cells. A new indicator goes at the end (this
#: test still passes; move the pin forward with it). Changing the cells of one already
#: here would misalign the arrays of every snapshot stored before: that needs a migration
#: that rewrites them, and then a new pin.
STORED_LAYOUT = (26, "8570cceaaf185527")


def test_the_figure_arrays_only_grow_at_their_end():  # type: ignore[no-untyped-def]
    import hashlib
    import json

    from harmnet import indicators

    count, digest = STORED_LAYOUT
    layout = [(code, indicators.BY_CODE[code].has_total, list(indicators.BY_CODE[code].cells))
              for code in indicators.FIGURE_ORDER[:count]]
    assert hashlib.sha256(json.dumps(layout).encode()).hexdigest()[:16] == digest
