"""Test results and linkage (issue 21): a hand-built June 2024 recorded through the results
service, and its indicator values computed by hand."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from harmnet.extensions import db
from harmnet.indicators import SERVICES, SEX_AGE_CELLS
from harmnet.services import reports
from harmnet.services import results as service
from harmnet.tenancy import group_context

CODES = service.CODES
TODAY = date(2024, 7, 31)


def table(**cells):  # type: ignore[no-untyped-def]
    """A sex-and-age table: zeros except the cells given (``F_18_24=2`` for F:18-24)."""
    out = dict.fromkeys(("total", *SEX_AGE_CELLS, "U"), 0)
    for key, value in cells.items():
        out[key.replace("_", ":", 1).replace("_", "-") if key != "U" else key] = value
    out["total"] = sum(cells.values())
    return out


def build_june(b) -> None:  # type: ignore[no-untyped-def]
    """Six clients, a session, a deleted contact and a May result linked in June."""
    a, bb, c = b.client("F", "18-24"), b.client("M", "25-34"), b.client("T", "25-34")
    d, e, u = b.client("F", "18-24"), b.client("F", "35-49"), b.client(None, None)

    def outcome(contact, svc, on, **kw):  # type: ignore[no-untyped-def]
        referral = b.referral(contact, svc, contact.occurred_on)
        with group_context(b.group_id):
            row = service.record_referral_outcome(
                referral, tested=kw.pop("tested", True), tested_on=on,
                actor_id=b.user_id, today=TODAY, **kw)
        return row

    def linked(row, on, status="linked"):  # type: ignore[no-untyped-def]
        with group_context(b.group_id):
            service.record_linkage(row, status, on, actor_id=b.user_id, today=TODAY)

    # A: reactive, confirmed on 10 June, treatment on 20 June (10 days); tested again later.
    ra = outcome(b.contact(date(2024, 6, 3), a), "hiv_test", date(2024, 6, 5),
                 result="reactive", confirm_result="reactive", confirmed_on=date(2024, 6, 10))
    linked(ra, date(2024, 6, 20))
    outcome(b.contact(date(2024, 6, 12), a), "hiv_test", date(2024, 6, 14), result="non_reactive")
    # B: referred in May, tested and confirmed in June, treatment 36 days later (July).
    rb = outcome(b.contact(date(2024, 5, 28), bb), "hiv_test", date(2024, 6, 2),
                 result="reactive", confirm_result="reactive", confirmed_on=date(2024, 6, 4))
    linked(rb, date(2024, 7, 10))
    # C: reactive screen, confirmation still pending.
    outcome(b.contact(date(2024, 6, 7), c), "hiv_test", date(2024, 6, 7), result="reactive")
    # D: non-reactive, referred to PrEP, started on 15 June; a self-test reported in June.
    rd = outcome(b.contact(date(2024, 6, 8), d), "hiv_test", date(2024, 6, 9),
                 result="non_reactive", prep=True)
    linked(rd, date(2024, 6, 15))
    kit = b.contact(date(2024, 6, 1), d, self_test_kits=2)
    with group_context(b.group_id):
        service.record_self_test(kit, reported_on=date(2024, 6, 3), result="non_reactive",
                                 actor_id=b.user_id, today=TODAY)
    # E: hepatitis and STI results (not HIV); an HIV referral not tested; in May a reactive
    # result confirmed on 30 May, treatment on 25 June (26 days).
    ke = b.contact(date(2024, 6, 10), e)
    outcome(ke, "hepatitis_test", date(2024, 6, 11), result="reactive")
    outcome(ke, "sti_care", date(2024, 6, 11), result="not_disclosed")
    outcome(b.contact(date(2024, 6, 20), e), "hiv_test", None, tested=False, result=None)
    re_ = outcome(b.contact(date(2024, 5, 20), e), "hiv_test", date(2024, 5, 21),
                  result="reactive", confirm_result="reactive", confirmed_on=date(2024, 5, 30))
    linked(re_, date(2024, 6, 25))
    # U (no sex or age recorded): indeterminate.
    outcome(b.contact(date(2024, 6, 15), u), "hiv_test", date(2024, 6, 16),
            result="indeterminate")
    # A small-group session gave kits; one participant reported a reactive self-test.
    session = b.contact(date(2024, 6, 18), None, "group_session", participants_count=9,
                        self_test_kits=5)
    with group_context(b.group_id):
        service.record_self_test(session, reported_on=date(2024, 6, 19), result="reactive",
                                 actor_id=b.user_id, today=TODAY)
    # A deleted contact's result never counts.
    gone = b.contact(date(2024, 6, 21), bb)
    outcome(gone, "hiv_test", date(2024, 6, 22), result="reactive", confirm_result="reactive",
            confirmed_on=date(2024, 6, 23))
    with group_context(b.group_id):
        gone.deleted_at = gone.created_at
        db.session.flush()


@pytest.fixture
def june(make_group, builder):  # type: ignore[no-untyped-def]
    group = make_group("june")
    build_june(builder(group))
    other = make_group("other-june")  # another group's results must never count
    ob = builder(other)
    k = ob.contact(date(2024, 6, 5), ob.client())
    ob.test_result(k, ob.referral(k, "hiv_test", date(2024, 6, 5)), tested=True,
                   tested_on=date(2024, 6, 6), result="reactive", confirm_result="reactive",
                   confirmed_on=date(2024, 6, 7))
    db.session.commit()
    return group


#: Written by hand from build_june.
JUNE = {
    "hiv_tested": table(F_18_24=2, M_25_34=1, T_25_34=1, U=1),       # A, D; B; C; U
    "hiv_reactive_confirmed": table(F_18_24=1, M_25_34=1),           # A, B
    "self_test_results": table(F_18_24=1, U=1),                      # D; the session's
    "linked_to_treatment": table(F_18_24=1, F_35_49=1),              # A (10 d), E (26 d)
    "prep_started": table(F_18_24=1),                                # D
}
MAY = {code: table() for code in CODES} | {
    "hiv_tested": table(F_35_49=1), "hiv_reactive_confirmed": table(F_35_49=1)}
QUARTER = JUNE | {
    "hiv_tested": table(F_18_24=2, M_25_34=1, T_25_34=1, U=1, F_35_49=1),
    "hiv_reactive_confirmed": table(F_18_24=1, M_25_34=1, F_35_49=1),
}


def test_golden_june_and_its_quarter_by_hand(db, june):  # type: ignore[no-untyped-def]
    spans, values = reports.compute_group_set(june.id, "2024-06")
    assert {code: values["2024-06"][code] for code in CODES} == JUNE
    assert {code: values["2024-05"][code] for code in CODES} == MAY
    assert {code: values["2024-Q2"][code] for code in CODES} == QUARTER
    # Being tested completes the referral (on the test date): A, B, C, D and U in June.
    completed = dict.fromkeys(SERVICES, 0) | {"hiv_test": 5, "hepatitis_test": 1,
                                              "sti_care": 1}
    assert values["2024-06"]["referral_completed"] == completed
    # B started treatment 36 days after the confirmation: not within 30 days.
    july = reports.compute_group(june.id, "2024-07")
    assert {code: july[code]["total"] for code in CODES} == dict.fromkeys(CODES, 0)


def test_the_coordinator_cascade_matches_the_report(db, june):  # type: ignore[no-untyped-def]
    with group_context(june.id):
        cascade = service.cascade(june.id, date(2024, 6, 1), date(2024, 7, 1))
    assert (cascade.tested, cascade.reactive, cascade.linked, cascade.self_tests,
            cascade.prep) == (5, 2, 2, 2, 1)


def test_the_department_sees_the_new_counts_suppressed(db, june):  # type: ignore[no-untyped-def]
    snapshot, _ = reports.build_snapshot(june.id, "2024-06")
    values = snapshot.payload["values"]
    assert values["hiv_tested"]["total"] == 5  # 5 people: shown
    assert values["hiv_tested"]["M:25-34"] is None  # 1 person: hidden, never 0
    assert values["hiv_reactive_confirmed"]["total"] is None  # 2 people
    assert values["prep_started"]["total"] is None
    assert values["linked_to_treatment"]["F:<18"] == 0  # zeros are shown


def test_department_cascade_shows_counts_never_a_client_row(client, db, june, make_user):  # type: ignore[no-untyped-def]
    from harmnet.models import Department, TestResult
    from tests.support import login

    reports.build_snapshot(june.id, "2024-06")
    db.session.commit()
    department = db.session.get(Department, june.department_id)
    viewer = make_user(department=department, role="viewer")
    login(client, viewer.login)
    page = client.get(f"/d/{department.code}/?p=2024-06")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Testing and treatment cascade" in html
    assert "Tested for HIV: <strong>5</strong>" in html  # 5 people: shown
    assert 'Reactive (confirmed): <strong><span class="hidden-mark">x' in html  # 2: hidden
    with group_context(june.id):
        ids = list(db.session.scalars(select(TestResult.id)))
    # No link to, nor a page of, any single result: the department's pages are aggregates.
    assert "/results/" not in html and "/g/" not in html
    for result_id in ids:
        assert client.get(f"/g/june/contacts/results/{result_id}/linkage").status_code == 404
    exported = client.get(f"/d/{department.code}/export.json?p=2024-06").get_json()
    elements = {v["dataElement"] for v in exported["dataValues"]}
    assert {"HN_HIV_TESTED_TOTAL", "HN_HIV_TESTED"} <= elements
    adx = client.get(f"/d/{department.code}/export.xml?p=2024-06").get_data(as_text=True)
    assert 'dataElement="HN_HIV_TESTED_TOTAL" value="5"' in adx
    assert 'dataElement="HN_HIV_TESTED" value="0" SEX="F" AGE_BAND="50+"' in adx
    assert 'dataElement="HN_HIV_TESTED" value="2"' not in adx  # F 18-24: hidden, left out
