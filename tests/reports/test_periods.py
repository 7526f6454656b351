"""Quarters and years are computed for the period itself: a hand-built first quarter whose
every month, quarter and year figure is written by hand below; what the department sees of
it; late corrections that make a new version by themselves."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from harmnet.indicators import CATALOGUE, CORE_COMMODITIES, SERVICES, SEX_AGE_CELLS
from harmnet.models import Department, ReportSnapshot
from harmnet.services import reports
from tests.support import login


def table(**cells):  # type: ignore[no-untyped-def]
    """A sex-and-age table: zeros except the cells given (``F_18_24=2`` for F:18-24)."""
    out = dict.fromkeys(("total", *SEX_AGE_CELLS, "U"), 0)
    for key, value in cells.items():
        name = {"F_18_24": "F:18-24", "M_25_34": "M:25-34", "T_35_49": "T:35-49"}.get(key, key)
        out[name] = value
    out["total"] = sum(v for k, v in out.items() if k != "total")
    return out


def services(**cells):  # type: ignore[no-untyped-def]
    out = dict.fromkeys(SERVICES, 0)
    out.update(cells)
    return out


def build_quarter(b):  # type: ignore[no-untyped-def]
    """January to March 2025 in a group on Asia/Ho_Chi_Minh time (UTC+7). Clients return
    across months; members join, pause and leave."""
    a = b.client("F", "18-24", first=date(2025, 1, 5))
    bb = b.client("F", "18-24", first=date(2025, 1, 20))
    c = b.client("M", "25-34", first=date(2025, 2, 2))
    d = b.client("T", "35-49", first=date(2024, 12, 15))
    e = b.client(None, None, first=date(2025, 3, 25))
    a1 = b.contact(date(2025, 1, 5), a, condoms=10)
    b1 = b.contact(date(2025, 1, 20), bb)
    b.contact(date(2025, 1, 15), None, "group_session", participants_count=10, condoms=20)
    b.contact(date(2025, 1, 7), e, deleted=True)  # a deleted contact never counts
    b.contact(date(2025, 2, 10), a)
    c1 = b.contact(date(2025, 2, 2), c, condoms=5)
    b.contact(date(2025, 2, 20), c, "messenger")
    a3 = b.contact(date(2025, 3, 3), a, "zalo")
    b.contact(date(2024, 12, 15), d)  # last year: D is new again in 2025
    b.contact(date(2025, 3, 10), d)
    b.contact(date(2025, 3, 25), e, "phone")
    b.contact(date(2025, 3, 12), None, "group_session", participants_count=6)

    r1 = b.referral(a1, "hiv_test", date(2025, 1, 5), "completed", date(2025, 2, 1))
    b.referral(a3, "hiv_test", date(2025, 3, 3))
    b.referral(c1, "pep", date(2025, 2, 2), "declined")
    b.referral(b1, "legal_aid", date(2025, 1, 20), "completed", date(2025, 1, 25))
    b.appointment(r1, datetime(2025, 1, 31, 18, 0, tzinfo=UTC), "attended")  # 1 Feb local

    m1 = b.member("Lan", joined=date(2024, 1, 1))
    m2 = b.member("Mai", joined=date(2025, 2, 10))
    m3 = b.member("Cúc", role="volunteer", status="left", joined=date(2024, 6, 1),
                  left=date(2025, 2, 5))
    b.member("Hồng", status="paused", joined=date(2024, 1, 1), paused=date(2025, 2, 20))
    m5 = b.member("Lý", role="club_member", joined=date(2025, 3, 20))

    t1 = b.training(datetime(2025, 1, 10, 3, 0, tzinfo=UTC), 120)
    t2 = b.training(datetime(2025, 3, 5, 2, 0, tzinfo=UTC), 60)
    b.attend(t1, m1)
    b.attend(t1, m3)
    b.attend(t2, m1)
    b.attend(t2, m2)
    b.attend(t2, m5, "absent")


def expected(contacts, reached, first, sessions, participants, online, condoms, referred,
             completed, kept, held, trained, hours, peers, members):  # type: ignore[no-untyped-def]
    return {
        "contacts": {"total": contacts}, "reached": reached, "reached_first_time": first,
        "group_sessions": {"total": sessions},
        "group_session_participants": {"total": participants},
        "online_contacts": {"total": online}, "condoms": {"total": condoms},
        "lubricants": {"total": 0}, "leaflets": {"total": 0}, "self_test_kits": {"total": 0},
        "referred": referred, "referral_completed": completed,
        # No test results in this quarter (tests/reports/test_results_golden.py has them).
        **{code: table() for code in ("hiv_tested", "hiv_reactive_confirmed",
                                      "self_test_results", "linked_to_treatment",
                                      "prep_started")},
        "appointments_kept": {"total": kept}, "trainings_held": {"total": held},
        "training_participants": {"total": trained}, "training_hours": {"total": hours},
        "active_peer_educators": {"total": peers}, "active_members": {"total": members},
        # No ledger here (tests/stock/test_golden.py has the stock's golden months).
        **{code: dict.fromkeys(CORE_COMMODITIES, 0) for code in
           ("commodities_received", "stock_out_days", "stock_on_hand")},
    }


#: Written by hand from build_quarter.
JANUARY = expected(
    contacts=3, reached=table(F_18_24=2), first=table(F_18_24=2), sessions=1, participants=10,
    online=0, condoms=30, referred=services(hiv_test=1, legal_aid=1),
    completed=services(legal_aid=1), kept=0, held=1, trained=2, hours=2.0,
    peers=2,  # Lan, Hồng
    members=3)  # Lan, Cúc, Hồng
FEBRUARY = expected(
    contacts=3, reached=table(F_18_24=1, M_25_34=1), first=table(M_25_34=1), sessions=0,
    participants=0, online=1, condoms=5, referred=services(pep=1),
    completed=services(hiv_test=1), kept=1, held=0, trained=0, hours=0.0,
    peers=3,  # Lan, Mai, Hồng (paused on the 20th)
    members=4)  # and Cúc (left on the 5th)
MARCH = expected(
    contacts=4, reached=table(F_18_24=1, T_35_49=1, U=1), first=table(T_35_49=1, U=1),
    sessions=1, participants=6, online=2, condoms=0, referred=services(hiv_test=1),
    completed=services(), kept=0, held=1, trained=2, hours=1.0,
    peers=2,  # Lan, Mai
    members=3)  # Lan, Mai, Lý
#: The quarter: sums add up; A, B, C, D and E are five people, not 2 + 2 + 3; A was
#: referred to HIV testing twice but is one person; three members trained, not four; the
#: members and peer educators are March's.
QUARTER = expected(
    contacts=10, reached=table(F_18_24=2, M_25_34=1, T_35_49=1, U=1),
    first=table(F_18_24=2, M_25_34=1, T_35_49=1, U=1), sessions=2, participants=16,
    online=3, condoms=35, referred=services(hiv_test=1, legal_aid=1, pep=1),
    completed=services(hiv_test=1, legal_aid=1), kept=1, held=2, trained=3, hours=3.0,
    peers=2, members=3)


@pytest.fixture
def quarter(db, make_group, builder):  # type: ignore[no-untyped-def]
    group = make_group("quarter")
    build_quarter(builder(group))
    other = make_group("other")  # another group's rows never count
    ob = builder(other)
    ob.contact(date(2025, 2, 3), ob.client(), condoms=999)
    ob.member("Khác")
    db.session.commit()
    return group


def test_golden_quarter_every_period_by_hand(db, quarter):  # type: ignore[no-untyped-def]
    spans, values = reports.compute_group_set(quarter.id, "2025-03")
    assert [(s.key, s.kind, s.first, s.through) for s in spans] == [
        ("2025-01", "month", "2025-01", "2025-01"), ("2025-02", "month", "2025-02", "2025-02"),
        ("2025-03", "month", "2025-03", "2025-03"), ("2025-Q1", "quarter", "2025-01", "2025-03"),
        ("2025", "year", "2025-01", "2025-03")]
    assert values["2025-01"] == JANUARY
    assert values["2025-02"] == FEBRUARY
    assert values["2025-03"] == MARCH
    assert values["2025-Q1"] == QUARTER
    assert values["2025"] == QUARTER  # the year so far is the first quarter
    # Each month alone is what the month's own computation gives.
    assert reports.compute_group(quarter.id, "2025-02") == FEBRUARY


def test_golden_quarter_to_date_and_a_year_starting_in_february(db, quarter
                                                               ):  # type: ignore[no-untyped-def]
    spans, values = reports.compute_group_set(quarter.id, "2025-02")
    assert {s.key: s.through for s in spans if s.kind != "month"} == {
        "2025-Q1": "2025-02", "2025": "2025-02"}
    assert values["2025-Q1"]["reached"] == table(F_18_24=2, M_25_34=1)  # A, B, C
    assert values["2025-Q1"]["active_members"] == {"total": 4}  # February's

    # The group's own reporting year starts in February (its department's in January).
    quarter.fiscal_year_start_month = 2
    db.session.commit()
    assert db.session.get(Department, quarter.department_id).fiscal_year_start_month == 1
    spans, values = reports.compute_group_set(quarter.id, "2025-03")
    # The reporting year 2025 starts in February; the first quarter still holds January.
    assert [s.key for s in spans] == ["2025-01", "2025-02", "2025-03", "2025-Q1", "2025-FY02"]
    year = values["2025-FY02"]
    assert year["reached"] == table(F_18_24=1, M_25_34=1, T_35_49=1, U=1)  # A, C, D, E
    # A was first reached in January, the year before: new again in February.
    assert year["reached_first_time"] == table(F_18_24=1, M_25_34=1, T_35_49=1, U=1)
    assert year["contacts"] == {"total": 7}
    assert year["active_members"] == {"total": 3}
    # Closing March writes the group's year under its own key, with the same figures.
    stored = {s.period: s for s, _ in reports.close_month(quarter.id, "2025-03")}
    assert stored["2025-FY02"].payload["first"] == "2025-02"
    assert stored["2025-FY02"].payload["values"]["contacts"] == {"total": 7}
    # Without its own month, a group follows its department.
    quarter.fiscal_year_start_month = None
    db.session.get(Department, quarter.department_id).fiscal_year_start_month = 2
    db.session.commit()
    assert [s.key for s in reports.compute_group_set(quarter.id, "2025-03")[0]][-1] == (
        "2025-FY02")


def test_department_sees_the_period_figures_not_sums_of_months(client, db, quarter,
                                                              make_user
                                                              ):  # type: ignore[no-untyped-def]
    department = db.session.get(Department, quarter.department_id)
    department.suppression_threshold = 1  # nothing hidden: the figures themselves
    for month in ("2025-01", "2025-02", "2025-03"):
        reports.close_month(quarter.id, month)
    make_user("dept-q", department=department, role="manager")
    db.session.commit()
    login(client, "dept-q")
    by_period = {}
    for spec in ("2025-Q1", "2025"):
        page = client.get(f"/d/{department.code}/?p={spec}").get_data(as_text=True)
        by_period[spec] = page
    for page in by_period.values():
        assert _row(page, "Unique individuals reached") == "5"  # not 2 + 2 + 3
        assert _row(page, "Active members") == "3"  # March's, not 3 + 4 + 3
        assert _row(page, "Active peer educators") == "2"
        assert _row(page, "Service contacts") == "10"
        assert _row(page, "Training participants") == "3"
    month = client.get(f"/d/{department.code}/?p=2025-02").get_data(as_text=True)
    assert _row(month, "Active members") == "4"
    # Targets: progress from the year's own figures, against the time elapsed.
    reports.set_targets(department.id, 2025, {"reached": 20, "active_members": 6})
    db.session.commit()
    page = client.get(f"/d/{department.code}/targets?year=2025").get_data(as_text=True)
    assert "25%" in page  # 5 of 20 people
    assert "50%" in page  # 3 of 6 active members, a state compared as it stands
    assert "through 2025-03" in page and "25% of the year" in page


def _row(page: str, name: str) -> str:
    """The figure of the dashboard card named `name`."""
    import re

    match = re.search(re.escape(name) + r'</h3>\s*<p class="figure"><span class="big">([^<]*)<',
                      page)
    assert match, name
    return match.group(1)


def _cell(page: str, name: str) -> str:
    """The figure of the history table's row named `name`."""
    import re

    match = re.search(r"<td>" + re.escape(name) + r'</td><td class="num">([^<]*)<', page)
    assert match, name
    return match.group(1)


def test_late_correction_makes_a_new_version_that_says_what_moved(db, quarter, builder
                                                                  ):  # type: ignore[no-untyped-def]
    for month in ("2025-01", "2025-02", "2025-03"):
        reports.close_month(quarter.id, month)
    db.session.commit()
    # A contact entered late, in closed January, by a new client.
    b = builder(quarter)
    b.contact(date(2025, 1, 28), b.client("M", "25-34", first=date(2025, 1, 28)), condoms=4)
    db.session.commit()
    # The next run (the daily look, or the next month closing) finds it by itself.
    results = reports.close_month(quarter.id, "2025-03", "revision")
    db.session.commit()
    created = {s.period: s for s, new in results if new}
    assert set(created) == {"2025-01", "2025-Q1", "2025"}
    january = created["2025-01"]
    assert january.version == 2 and january.reason == "revision"
    # People reached moved too (2 -> 3), but under 5 they are hidden in both versions: the
    # revision names only what the department can see move.
    assert january.changed == ["contacts", "condoms"]
    assert january.through == "2025-01" and january.period_type == "month"
    assert created["2025"].changed is not None
    # Closing January again never sets the quarter and year to date back to January.
    reports.close_month(quarter.id, "2025-01", "refresh")
    db.session.commit()
    year = reports.latest_snapshot(quarter.id, "2025")
    assert year.through == "2025-03"


def test_history_page_marks_the_revision(client, db, quarter, builder, make_user
                                         ):  # type: ignore[no-untyped-def]
    department = db.session.get(Department, quarter.department_id)
    reports.close_month(quarter.id, "2025-03")
    make_user("dept-h", department=department, role="viewer")
    db.session.commit()
    b = builder(quarter)
    for _ in range(6):
        b.contact(date(2025, 3, 27), None, "group_session", participants_count=9)
    db.session.commit()
    reports.close_month(quarter.id, "2025-03", "revision")
    db.session.commit()
    login(client, "dept-h")
    page = client.get(f"/d/{department.code}/history/{quarter.id}/2025-Q1").get_data(
        as_text=True)
    assert "v2" in page and "Revised, these figures moved:" in page
    assert "Small-group sessions" in page
    assert "Late correction" in page  # why, in words: never a seed or a checksum
    current, first = (reports.latest_snapshot(quarter.id, "2025-Q1"),
                      reports.history(department.id, quarter.id, "2025-Q1")[-1])
    assert current.checksum[:12] not in page and first.checksum[:12] not in page
    # Only the current version's figures: participants 54 more than in v1.
    old = first.payload["values"]["group_session_participants"]["total"]
    new = current.payload["values"]["group_session_participants"]["total"]
    assert new == old + 54 and _cell(page, "Small-group session participants") == str(new)
    assert page.count('<th class="num">v') == 1
    dashboard = client.get(f"/d/{department.code}/?p=2025-Q1").get_data(as_text=True)
    assert "revised after late corrections" in dashboard
    versions = db.session.scalars(select(ReportSnapshot.version).where(
        ReportSnapshot.group_id == quarter.id, ReportSnapshot.period == "2025-Q1")).all()
    assert sorted(versions) == [1, 2]


def test_history_of_a_year_to_date_shows_what_changed_not_earlier_figures(
        app, client, db, quarter, make_user):  # type: ignore[no-untyped-def]
    """YTD(February) - YTD(January) is February: the history of a year to date says when it
    grew and what moved, and shows the current figures only, in both languages."""
    department = db.session.get(Department, quarter.department_id)
    for month in ("2025-01", "2025-02"):
        reports.close_month(quarter.id, month)
    make_user("dept-y", department=department, role="viewer")
    db.session.commit()
    january, february = reports.history(department.id, quarter.id, "2025")[::-1]
    assert (january.through, february.through) == ("2025-01", "2025-02")
    login(client, "dept-y")
    page = client.get(f"/d/{department.code}/history/{quarter.id}/2025").get_data(
        as_text=True)
    assert "Now covers the months through 2025-02." in page
    assert "Now covers the months through 2025-01." in page
    assert page.count('<th class="num">v') == 1 and "through 2025-02" in page
    contacts = _cell(page, "Service contacts")
    assert contacts == str(february.payload["values"]["contacts"]["total"])
    row = page.split("Service contacts</td>")[1].split("</tr>")[0]
    assert row.count('class="num"') == 1  # no column of January's figures beside it
    make_user("dept-y-vi", department=department, role="viewer", locale="vi")
    db.session.commit()
    other = app.test_client()
    login(other, "dept-y-vi")
    page = other.get(f"/d/{department.code}/history/{quarter.id}/2025").get_data(
        as_text=True)
    assert "Chốt tháng" in page and "Số liệu hiện tại" in page


def test_every_catalogue_indicator_declares_an_aggregation():
    assert {i.aggregation for i in CATALOGUE} == {"sum", "distinct", "last"}
    by = {i.code: i.aggregation for i in CATALOGUE}
    assert by["reached"] == by["referred"] == by["training_participants"] == "distinct"
    assert by["active_members"] == by["active_peer_educators"] == "last"
    assert by["contacts"] == by["condoms"] == by["training_hours"] == "sum"
    for i in CATALOGUE:
        assert i.over_time("vi") and i.over_time("en") != i.over_time("vi")


def test_definitions_say_how_each_indicator_adds_up_in_both_languages(app, client, db, quarter,
                                                                      make_user
                                                                      ):  # type: ignore[no-untyped-def]
    department = db.session.get(Department, quarter.department_id)
    make_user("dept-en", department=department, role="viewer", locale="en")
    make_user("dept-vi", department=department, role="viewer", locale="vi")
    db.session.commit()
    login(client, "dept-en")
    page = client.get(f"/d/{department.code}/definitions").get_data(as_text=True)
    assert "Adds up over time:" in page and "distinct people" in page
    assert "the value of its last" in page and "counted once in each group" in page
    other = app.test_client()
    login(other, "dept-vi")
    page = other.get(f"/d/{department.code}/definitions").get_data(as_text=True)
    assert "Cách cộng theo thời gian:" in page and "số người khác nhau" in page
    assert "là số của tháng cuối cùng" in page and "được tính một lần ở mỗi nhóm" in page


def test_the_daily_look_for_late_corrections_picks_groups_at_3am_local(db, make_group
                                                                       ):  # type: ignore[no-untyped-def]
    hanoi = make_group("hanoi-3am")  # Asia/Ho_Chi_Minh, UTC+7
    london = make_group("london-3am")
    london.timezone = "Europe/London"
    db.session.commit()
    due = reports.groups_to_revise(datetime(2026, 2, 9, 20, 30, tzinfo=UTC))  # 03:30 in Hà Nội
    assert (hanoi.id, "2026-01") in due
    assert (hanoi.id, "2025-12") in due  # early in a year: last year's periods too
    assert not [d for d in due if d[0] == london.id]
    assert reports.groups_to_revise(datetime(2026, 5, 9, 20, 30, tzinfo=UTC)) == [
        (hanoi.id, "2026-04")]
