"""Test results, self-test results and linkage follow-ups through the pages (issue 21)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from harmnet.models import AuditEvent, Contact, Referral, TestResult
from harmnet.models._types import utcnow
from harmnet.services import results
from harmnet.services.contacts import ReferralInput
from tests.contacts.conftest import local_today, make_contact, quick_user
from tests.support import csrf_from, in_group, login, post_form


@pytest.fixture
def world(group_setup, db):  # type: ignore[no-untyped-def]
    a, b, users, made = group_setup
    clinic = made["group-a"][0]
    mine = make_contact(a.id, users["a_peer"].id, days_ago=10, self_test_kits=1, referrals=[
        ReferralInput("hiv_test", clinic), ReferralInput("hepatitis_test"),
        ReferralInput("legal_aid")])
    other = make_contact(a.id, users["a_peer2"].id, days_ago=10, code="HOBIF1980",
                         referrals=[ReferralInput("hiv_test", clinic)])
    theirs = make_contact(b.id, users["b_peer"].id, days_ago=10, self_test_kits=2,
                          referrals=[ReferralInput("hiv_test", made["group-b"][0])])
    ids = {"mine": mine, "other": other, "theirs": theirs}
    for group, key in ((a, "mine"), (a, "other"), (b, "theirs")):
        with in_group(group.id):
            for r in db.session.scalars(select(Referral).where(Referral.contact_id == ids[key])):
                ids[f"{key}:{r.service}"] = r.id
    return a, b, users, ids


def _post(client, url: str, **data: object):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/g/group-a/contacts/new").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def switch(client, name: str) -> None:  # type: ignore[no-untyped-def]
    post_form(client, "/logout", page="/account")
    login(client, name)


def _day(days_ago: int) -> str:
    return (local_today() - timedelta(days=days_ago)).isoformat()


def test_a_peer_records_a_confirmed_result_and_answers_the_follow_up(client, db, world):  # type: ignore[no-untyped-def]
    a, _, _, ids = world
    login(client, "a-peer")
    url = f"/g/group-a/contacts/referrals/{ids['mine:hiv_test']}/result"
    assert client.get(url).status_code == 200
    response = _post(client, url, tested="yes", tested_on=_day(8), result="reactive",
                     confirm_result="reactive", confirmed_on=_day(5))
    assert response.status_code == 302
    with in_group(a.id):
        row = db.session.scalar(select(TestResult))
        referral = db.session.get(Referral, ids["mine:hiv_test"])
        assert (row.linkage, row.linkage_status) == ("treatment", "open")
        assert (referral.status, referral.completed_on) == ("completed", local_today()
                                                            - timedelta(days=8))
        # The audit trail names the row, never the result.
        detail = db.session.scalar(select(AuditEvent.detail).where(
            AuditEvent.action == "test_result.recorded"))
        assert "reactive" not in str(detail)
        row_id = row.id
    page = client.get("/g/group-a/contacts/follow-ups").get_data(as_text=True)
    assert f"/contacts/results/{row_id}/linkage" in page and "Linked to treatment?" in page
    link = f"/g/group-a/contacts/results/{row_id}/linkage"
    assert client.get(link).status_code == 200
    assert _post(client, link, status="linked", started_on=_day(1)).status_code == 302
    page = client.get("/g/group-a/contacts/follow-ups").get_data(as_text=True)
    assert f"/contacts/results/{row_id}/linkage" not in page
    with in_group(a.id):
        assert db.session.get(TestResult, row_id).linkage_days == 4
    # A closed follow-up is the coordinator's to correct.
    assert client.get(link).status_code == 403
    switch(client, "a-coord")
    assert client.get(link).status_code == 200


def test_prep_and_self_test_results(client, db, world):  # type: ignore[no-untyped-def]
    a, _, _, ids = world
    login(client, "a-peer")
    assert _post(client, f"/g/group-a/contacts/referrals/{ids['mine:hiv_test']}/result",
                 tested="yes", tested_on=_day(9), result="non_reactive",
                 prep="y").status_code == 302
    page = client.get("/g/group-a/contacts/follow-ups").get_data(as_text=True)
    assert "Started PrEP?" in page
    show = client.get(f"/g/group-a/contacts/{ids['mine']}").get_data(as_text=True)
    assert f"/contacts/{ids['mine']}/self-test" in show
    assert _post(client, f"/g/group-a/contacts/{ids['mine']}/self-test",
                 reported_on=_day(3), result="not_disclosed").status_code == 302
    with in_group(a.id):
        kinds = {r.kind: r for r in db.session.scalars(select(TestResult))}
        assert kinds["self_test"].result == "not_disclosed"
        assert kinds["referral"].linkage == "prep"


@pytest.mark.parametrize(("key", "data", "message"), [
    ("mine:legal_aid", {"tested": "yes", "tested_on": "1", "result": "reactive"},
     "A test result can only be recorded for a referral to HIV testing"),
    ("mine:hiv_test", {"tested": "yes", "tested_on": "+5", "result": "reactive"},
     "The date cannot be in the future."),
    ("mine:hiv_test", {"tested": "yes", "tested_on": "30", "result": "reactive"},
     "The test date is before the referral."),
    ("mine:hiv_test", {"tested": "yes", "tested_on": "2", "result": ""},
     "Choose a result."),
    ("mine:hepatitis_test", {"tested": "yes", "tested_on": "2", "result": "reactive",
                             "confirm_result": "reactive", "confirmed_on": "1"},
     "A confirmatory result is recorded for an HIV test only."),
    ("mine:hiv_test", {"tested": "yes", "tested_on": "2", "result": "non_reactive",
                       "confirm_result": "reactive", "confirmed_on": "1"},
     "A confirmatory result follows a reactive test result only."),
    ("mine:hiv_test", {"tested": "yes", "tested_on": "2", "result": "reactive",
                       "confirm_result": "reactive", "confirmed_on": "3"},
     "The confirmation date is before the test date."),
    ("mine:hiv_test", {"tested": "yes", "tested_on": "31/02/2024", "result": "reactive"},
     "Please enter a date"),
    ("mine:hiv_test", {"tested": "maybe", "tested_on": "2", "result": "reactive"},
     "Please choose from the list."),
])
def test_bad_results_are_refused_with_the_values_kept(client, db, world, key, data, message):  # type: ignore[no-untyped-def]
    a, _, _, ids = world
    login(client, "a-peer")
    days = {k: v for k, v in data.items() if k.endswith("_on")}
    for k, v in days.items():
        if v.lstrip("+").isdigit():
            data[k] = (local_today() + timedelta(days=int(v[1:]))).isoformat() \
                if v.startswith("+") else _day(int(v))
    response = _post(client, f"/g/group-a/contacts/referrals/{ids[key]}/result", **data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert f'value="{data["tested_on"]}"' in html  # what was typed is kept
    with in_group(a.id):
        assert db.session.scalar(select(TestResult)) is None


def test_bad_self_test_and_linkage_input(client, db, world):  # type: ignore[no-untyped-def]
    a, _, users, ids = world
    vi = quick_user("a-peer-vi", a, "peer_educator", locale="vi")
    db.session.commit()
    login(client, "a-peer")
    url = f"/g/group-a/contacts/{ids['mine']}/self-test"
    future = (local_today() + timedelta(days=2)).isoformat()
    response = _post(client, url, reported_on=future, result="reactive")
    assert response.status_code == 400 and "The date cannot be in the future." in \
        response.get_data(as_text=True) and f'value="{future}"' in response.get_data(as_text=True)
    # A contact that gave no kit.
    no_kit = make_contact(a.id, users["a_peer"].id, code="NOKIF1990", days_ago=1)
    response = _post(client, f"/g/group-a/contacts/{no_kit}/self-test",
                     reported_on=_day(0), result="reactive")
    assert response.status_code == 400
    assert "No HIV self-test kit was given at this contact." in response.get_data(as_text=True)
    # The linkage: a start before the confirmation, and no date.
    with in_group(a.id):
        referral = db.session.get(Referral, ids["mine:hiv_test"])
        row = results.record_referral_outcome(
            referral, tested=True, tested_on=local_today() - timedelta(days=6),
            result="reactive", confirm_result="reactive",
            confirmed_on=local_today() - timedelta(days=4), actor_id=users["a_peer"].id,
            today=local_today())
        db.session.commit()
        row_id = row.id
    link = f"/g/group-a/contacts/results/{row_id}/linkage"
    response = _post(client, link, status="linked", started_on=_day(5))
    assert response.status_code == 400
    assert "The start date is before the result" in response.get_data(as_text=True)
    assert _post(client, link, status="linked", started_on="").status_code == 400
    # The same in Vietnamese (a peer educator whose language is Vietnamese, own contact).
    mine_vi = make_contact(a.id, vi.id, code="VIVIF1990", days_ago=3,
                           referrals=[ReferralInput("legal_aid")])
    with in_group(a.id):
        legal = db.session.scalar(select(Referral.id).where(Referral.contact_id == mine_vi))
    switch(client, "a-peer-vi")
    response = _post(client, f"/g/group-a/contacts/referrals/{legal}/result", tested="yes",
                     tested_on=_day(1), result="reactive")
    assert response.status_code == 400
    assert "Chỉ ghi kết quả xét nghiệm cho chuyển gửi" in response.get_data(as_text=True)


def test_every_new_route_hides_other_groups_and_other_peers(client, db, world):  # type: ignore[no-untyped-def]
    a, b, users, ids = world
    with in_group(b.id):
        referral = db.session.get(Referral, ids["theirs:hiv_test"])
        theirs = results.record_referral_outcome(
            referral, tested=True, tested_on=local_today() - timedelta(days=2),
            result="reactive", confirm_result="reactive",
            confirmed_on=local_today() - timedelta(days=1), actor_id=users["b_peer"].id,
            today=local_today())
        db.session.commit()
        their_row = theirs.id
    urls = [f"/contacts/referrals/{ids['theirs:hiv_test']}/result",
            f"/contacts/{ids['theirs']}/self-test",
            f"/contacts/results/{their_row}/linkage"]
    login(client, "a-coord")
    for url in urls:
        assert client.get("/g/group-a" + url).status_code == 404, url  # B's ids under A
        assert client.get("/g/group-b" + url).status_code == 404, url  # not a member of B
        assert _post(client, "/g/group-a" + url, result="reactive").status_code == 404, url
    # Another peer educator's contact in the same group is a 404 too.
    switch(client, "a-peer")
    assert client.get(
        f"/g/group-a/contacts/referrals/{ids['other:hiv_test']}/result").status_code == 404
    assert client.get(f"/g/group-a/contacts/{ids['other']}/self-test").status_code == 404


def test_settled_results_are_corrected_by_the_coordinator(client, db, world):  # type: ignore[no-untyped-def]
    a, _, users, ids = world
    with in_group(a.id):
        referral = db.session.get(Referral, ids["mine:hiv_test"])
        results.record_referral_outcome(
            referral, tested=True, tested_on=local_today() - timedelta(days=9),
            result="non_reactive", actor_id=users["a_peer"].id, today=local_today())
        contact = db.session.get(Contact, ids["mine"])
        results.record_self_test(contact, reported_on=local_today(), result="reactive",
                                 actor_id=users["a_peer"].id, today=local_today())
        db.session.execute(update(TestResult).values(created_at=utcnow() - timedelta(days=8)))
        db.session.commit()
    urls = [f"/g/group-a/contacts/referrals/{ids['mine:hiv_test']}/result",
            f"/g/group-a/contacts/{ids['mine']}/self-test"]
    login(client, "a-peer")
    for url in urls:
        assert client.get(url).status_code == 403, url
        assert _post(client, url, tested="no", result="reactive").status_code == 403, url
    switch(client, "a-coord")
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_a_follow_up_leaves_the_list_after_90_days(client, db, world):  # type: ignore[no-untyped-def]
    a, _, users, ids = world
    old = make_contact(a.id, users["a_peer"].id, code="OLDOF1980", days_ago=120,
                       referrals=[ReferralInput("hiv_test")])
    with in_group(a.id):
        rows = []
        for contact_id, confirmed in ((old, 91), (ids["mine"], 5)):
            referral = db.session.scalar(select(Referral).where(
                Referral.contact_id == contact_id, Referral.service == "hiv_test"))
            rows.append(results.record_referral_outcome(
                referral, tested=True, tested_on=local_today() - timedelta(days=confirmed),
                result="reactive", confirm_result="reactive",
                confirmed_on=local_today() - timedelta(days=confirmed),
                actor_id=users["a_peer"].id, today=local_today()).id)
        db.session.commit()
    login(client, "a-peer")
    page = client.get("/g/group-a/contacts/follow-ups").get_data(as_text=True)
    assert f"/results/{rows[0]}/linkage" not in page  # opened 91 days ago
    assert f"/results/{rows[1]}/linkage" in page and "85 days left" in page


def test_erasing_a_client_keeps_their_results_as_anonymous_counts(db, world):  # type: ignore[no-untyped-def]
    from harmnet import clientcode
    from harmnet.services import erasure

    a, _, users, ids = world
    with in_group(a.id):
        referral = db.session.get(Referral, ids["mine:hiv_test"])
        row_id = results.record_referral_outcome(
            referral, tested=True, tested_on=local_today(), result="non_reactive",
            actor_id=users["a_peer"].id, today=local_today()).id
        db.session.commit()
        # make_contact's default client code
        assert erasure.erase_client(clientcode.pseudonym(a.id, "LAMIF1990"),
                                    actor_id=users["a_coord"].id) is not None
        db.session.commit()
        row = db.session.get(TestResult, row_id)
        assert row.client_id is None and row.result == "non_reactive"


def test_the_coordinator_sees_the_group_cascade(client, db, world):  # type: ignore[no-untyped-def]
    a, _, users, ids = world
    with in_group(a.id):
        referral = db.session.get(Referral, ids["mine:hiv_test"])
        results.record_referral_outcome(
            referral, tested=True, tested_on=local_today(), result="reactive",
            confirm_result="reactive", confirmed_on=local_today(),
            actor_id=users["a_peer"].id, today=local_today())
        db.session.commit()
    login(client, "a-coord")
    html = client.get("/g/group-a/contacts/cascade").get_data(as_text=True)
    assert "Testing and treatment cascade" in html
    # Unsuppressed for the group itself: one person tested, one confirmed, none linked yet.
    assert [int(n) for n in re.findall(
        r'<strong class="num">(\d+)</strong>', html)] == [1, 1, 0]
