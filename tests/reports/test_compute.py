"""Indicator values computed in SQL: a hand-built month and its hand-computed values."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from harmnet.indicators import CATALOGUE, CORE_COMMODITIES, SERVICES, SEX_AGE_CELLS
from harmnet.services import reports

TEST_CODES = ("hiv_tested", "hiv_reactive_confirmed", "self_test_results",
              "linked_to_treatment", "prep_started")


def zeros(cells):  # type: ignore[no-untyped-def]
    return dict.fromkeys(cells, 0)


def build_golden_month(b):  # type: ignore[no-untyped-def]
    """May 2024 in a group on Asia/Ho_Chi_Minh time (UTC+7)."""
    c1 = b.client("F", "18-24")
    c2 = b.client("F", "18-24")
    c3 = b.client("M", "25-34")
    c4 = b.client("T", "35-49")
    c5 = b.client(None, None)
    c6 = b.client("F", "50+")
    c7 = b.client("F", "<18")
    c8 = b.client("F", "25-34")
    k1 = b.contact(date(2024, 5, 2), c1, condoms=10, lubricants=5, leaflets=2)
    k2 = b.contact(date(2024, 5, 10), c1, "zalo")
    k3 = b.contact(date(2024, 5, 15), c2, "messenger", self_test_kits=1)
    k4 = b.contact(date(2024, 5, 20), c3, "phone", condoms=4)
    k5 = b.contact(date(2024, 5, 31), c4, leaflets=3)
    b.contact(date(2024, 5, 1), c5, "other")
    b.contact(date(2024, 5, 5), c7, condoms=2)
    b.contact(date(2024, 5, 6), c8, "zalo")
    k9 = b.contact(date(2024, 5, 12), None, "group_session", participants_count=12, condoms=20,
                   leaflets=12)
    b.contact(date(2024, 5, 25), None, "group_session", participants_count=7)
    k11 = b.contact(date(2024, 5, 21), c3, condoms=100, deleted=True)
    k12 = b.contact(date(2024, 4, 30), c6, condoms=50)
    b.contact(date(2024, 2, 14), c7)
    b.contact(date(2023, 12, 20), c8)
    b.contact(date(2024, 6, 1), c2)
    b.contact(date(2024, 1, 3), c1)
    b.contact(date(2024, 3, 3), c4, deleted=True)  # a deleted earlier contact does not count

    r1 = b.referral(k1, "hiv_test", date(2024, 5, 2), "completed", date(2024, 5, 9))
    b.referral(k2, "hiv_test", date(2024, 5, 10))
    r3 = b.referral(k3, "hiv_test", date(2024, 5, 15), "completed", date(2024, 6, 2))
    r4 = b.referral(k4, "pep", date(2024, 5, 20), "declined")
    b.referral(k12, "hepatitis_test", date(2024, 4, 30), "completed", date(2024, 5, 3))
    b.referral(k9, "legal_aid", date(2024, 5, 12))
    b.referral(k9, "legal_aid", date(2024, 5, 12))
    b.referral(k11, "hiv_test", date(2024, 5, 21))  # its contact was deleted
    r9 = b.referral(k5, "gbv_support", date(2024, 5, 31), "completed", date(2024, 5, 31))

    b.appointment(r1, datetime(2024, 5, 8, 3, 0, tzinfo=UTC), "attended")
    b.appointment(r3, datetime(2024, 5, 31, 18, 0, tzinfo=UTC), "attended")  # 1 June local
    b.appointment(r9, datetime(2024, 4, 30, 17, 30, tzinfo=UTC), "attended")  # 1 May local
    b.appointment(r4, datetime(2024, 5, 20, 3, 0, tzinfo=UTC), "missed")

    m1 = b.member("Lan", joined=date(2023, 1, 1))
    m2 = b.member("Mai", joined=date(2024, 5, 20))
    m3 = b.member("Cúc", role="volunteer", joined=None)
    m4 = b.member("Đào", role="club_member", status="left", joined=date(2022, 1, 1),
                  left=date(2024, 5, 15))
    b.member("Huệ", status="left", joined=date(2022, 1, 1), left=date(2024, 4, 30))
    b.member("Sen", status="paused", paused=date(2024, 3, 1))
    b.member("Quỳnh", status="paused", paused=date(2024, 5, 10))
    b.member("Ly", role="collaborator", joined=date(2024, 6, 3))

    t1 = b.training(datetime(2024, 5, 10, 2, 0, tzinfo=UTC), 120)
    t2 = b.training(datetime(2024, 4, 30, 18, 0, tzinfo=UTC), 90)  # 1 May, 01:00 local
    t3 = b.training(datetime(2024, 5, 20, 2, 0, tzinfo=UTC), 60, status="planned")
    t4 = b.training(datetime(2024, 5, 31, 17, 30, tzinfo=UTC), 60)  # 1 June local
    b.attend(t1, m1)
    b.attend(t1, m2)
    b.attend(t1, m3, "absent")
    b.attend(t2, m1)
    b.attend(t2, m4)
    b.attend(t3, m3)
    b.attend(t4, m3)


def expected_may(first_time_cells, tests=None):  # type: ignore[no-untyped-def]
    """The golden May by hand; `tests`: the test indicators' non-zero cells (none unless the
    month's test results are built, tests/reports/test_results_golden.py)."""
    by_sex_age = {code: zeros(("total", *SEX_AGE_CELLS, "U")) for code in TEST_CODES}
    for code, cells in (tests or {}).items():
        by_sex_age[code].update(cells)
    reached = zeros(("total", *SEX_AGE_CELLS, "U"))
    reached.update({"total": 7, "F:18-24": 2, "M:25-34": 1, "T:35-49": 1, "U": 1,
                    "F:<18": 1, "F:25-34": 1})
    first = zeros(("total", *SEX_AGE_CELLS, "U"))
    first.update(first_time_cells)
    referred = zeros(SERVICES)
    referred.update({"hiv_test": 2, "pep": 1, "legal_aid": 2, "gbv_support": 1})
    completed = zeros(SERVICES)
    completed.update({"hiv_test": 1, "hepatitis_test": 1, "gbv_support": 1})
    return {
        "contacts": {"total": 10},
        "reached": reached,
        "reached_first_time": first,
        "group_sessions": {"total": 2},
        "group_session_participants": {"total": 19},
        "online_contacts": {"total": 4},
        "condoms": {"total": 36},
        "lubricants": {"total": 5},
        "leaflets": {"total": 17},
        "self_test_kits": {"total": 1},
        "referred": referred,
        "referral_completed": completed,
        **by_sex_age,
        "appointments_kept": {"total": 2},
        "trainings_held": {"total": 2},
        "training_participants": {"total": 3},
        "training_hours": {"total": 3.5},
        "active_peer_educators": {"total": 3},
        "active_members": {"total": 5},
        # No ledger in this month (tests/stock/test_golden.py has the stock's golden month).
        **{code: zeros(CORE_COMMODITIES) for code in
           ("commodities_received", "stock_out_days", "stock_on_hand")},
    }


@pytest.fixture
def golden(db, make_group, builder):  # type: ignore[no-untyped-def]
    group = make_group("golden")
    build_golden_month(builder(group))
    other = make_group("other")  # another group's rows must never count
    ob = builder(other)
    client = ob.client()
    ob.contact(date(2024, 5, 3), client, condoms=999)
    ob.member("Khác")
    db.session.commit()
    return group


def test_golden_month_calendar_year(db, golden):  # type: ignore[no-untyped-def]
    values = reports.compute_group(golden.id, "2024-05")
    first = {"total": 5, "F:18-24": 1, "M:25-34": 1, "T:35-49": 1, "U": 1, "F:25-34": 1}
    assert values == expected_may(first)
    assert set(values) == {i.code for i in CATALOGUE}


def test_golden_month_fiscal_year_starting_in_may(db, golden):  # type: ignore[no-untyped-def]
    from harmnet.models import Department

    department = db.session.get(Department, golden.department_id)
    department.fiscal_year_start_month = 5
    db.session.commit()
    values = reports.compute_group(golden.id, "2024-05")
    # The year starts on 1 May: everyone reached in May is reached for the first time.
    assert values["reached_first_time"] == values["reached"]
    first = {"total": 7, "F:18-24": 2, "M:25-34": 1, "T:35-49": 1, "U": 1, "F:<18": 1,
             "F:25-34": 1}
    assert values == expected_may(first)


def test_a_quiet_month_counts_only_members(db, golden):  # type: ignore[no-untyped-def]
    values = reports.compute_group(golden.id, "2023-01")
    # Lan (joined that day), Cúc (no join date), Đào and Huệ (left in 2024), Sen and Quỳnh
    # (paused in 2024) were all active in January 2023; Mai and Ly had not joined.
    assert values.pop("active_members") == {"total": 6}
    assert values.pop("active_peer_educators") == {"total": 4}
    assert all(v == 0 for cells in values.values() for v in cells.values())
