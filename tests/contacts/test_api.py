"""The /api/v1/ door the phone's offline queue syncs through: same rules as the form,
one contact per idempotency key, problem+json in the user's language, no 500."""

from __future__ import annotations

import secrets

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from harmnet.models import Appointment, Contact, Referral, Reminder
from tests.contacts.conftest import in_days, local_today, make_contact
from tests.support import in_group, login

URL = "/api/v1/groups/group-a/contacts"


def _counts(db, group_id):  # type: ignore[no-untyped-def]
    with in_group(group_id):
        return tuple(db.session.scalar(select(func.count()).select_from(m))
                     for m in (Contact, Referral, Appointment, Reminder))


def _token(client) -> str:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    return response.get_json()["csrf_token"]


def _body(**values: object) -> dict:
    body = {"idempotency_key": secrets.token_urlsafe(18),
            "occurred_on": local_today().isoformat(), "channel": "in_person",
            "mother": "Hương", "father": "Đức", "sex": "F", "birth_year": "1996",
            "condoms": 10, "notes": "met at the park"}
    body.update(values)
    return body


def _post(client, body, url=URL, token=None):  # type: ignore[no-untyped-def]
    return client.post(url, json=body, headers={"X-CSRFToken": token or _token(client)})


def test_a_contact_with_referral_and_reminder_is_saved_once(client, db, group_setup):
    a, _b, _users, made = group_setup
    login(client, "a-peer")
    day, at = in_days(3)
    body = _body(referrals=[{"service": "hiv_test", "provider": made["group-a"][0],
                             "appt_date": day, "appt_time": at, "reminder_consent": True,
                             "reminder_channel": "sms", "contact_value": "0912 345 678"}])
    first = _post(client, body)
    assert first.status_code == 201, first.get_data(as_text=True)
    saved = first.get_json()
    assert saved["duplicate"] is False and saved["returning_client"] is False
    counts = _counts(db, a.id)
    assert counts[:3] == (1, 1, 1) and counts[3] >= 1
    # The queue replays it (twice): the first contact comes back, nothing new is written.
    for _ in range(2):
        again = _post(client, body)
        assert again.status_code == 200
        assert again.get_json()["id"] == saved["id"] and again.get_json()["duplicate"]
    assert _counts(db, a.id) == counts
    # The same client a second time is a returning client.
    second = _post(client, _body())
    assert second.status_code == 201 and second.get_json()["returning_client"] is True
    shown = client.get(f"/api/v1/groups/group-a/contacts/{saved['id']}").get_json()
    assert shown["referrals"] == [{"service": "hiv_test", "status": "booked"}]


def test_without_the_csrf_header_nothing_is_saved(client, db, group_setup):
    a, _b, _users, _made = group_setup
    login(client, "a-peer")
    response = client.post(URL, json=_body())
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert _counts(db, a.id)[0] == 0


def test_signed_out_is_401_problem(client, group_setup):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"].startswith("Vui lòng đăng nhập lại")  # vi by default


def test_another_groups_slug_and_ids_are_404(client, db, group_setup):
    a, b, users, _made = group_setup
    b_contact = make_contact(b.id, users["b_peer"].id)
    login(client, "a-coord")
    token = _token(client)
    response = _post(client, _body(), url="/api/v1/groups/group-b/contacts", token=token)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert _counts(db, b.id)[0] == 1
    for url in (f"/api/v1/groups/group-b/contacts/{b_contact}",
                f"/api/v1/groups/group-a/contacts/{b_contact}"):
        response = client.get(url)
        assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_a_peer_educator_sees_only_their_own_contacts(client, group_setup):
    a, _b, users, _made = group_setup
    theirs = make_contact(a.id, users["a_peer2"].id)
    login(client, "a-peer")
    assert client.get(f"/api/v1/groups/group-a/contacts/{theirs}").status_code == 404
    client.post("/logout", data={"csrf_token": _token(client)})
    login(client, "a-coord")
    assert client.get(f"/api/v1/groups/group-a/contacts/{theirs}").status_code == 200


def test_a_past_appointment_is_refused_in_the_users_language(client, db, group_setup):
    from tests.contacts.conftest import quick_user

    a, _b, _users, _made = group_setup
    quick_user("a-peer-vi", a, "peer_educator", locale="vi")
    db.session.commit()
    login(client, "a-peer-vi")
    day, at = in_days(-1)
    response = _post(client, _body(referrals=[{"service": "pep", "appt_date": day,
                                               "appt_time": at}]))
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["errors"]["referrals-0-appt_date"] == ["Lịch hẹn phải ở thời điểm sắp tới."]
    assert problem["detail"] == "Vui lòng sửa các ô được đánh dấu bên dưới."
    assert _counts(db, a.id)[0] == 0


@pytest.mark.parametrize("body", [
    "not json", [1, 2], {"channel": "in_person"}, {"idempotency_key": "short"},
    {"occurred_on": "2024-02-30"}, {"condoms": "many"}, {"referrals": [{"service": "x"}] * 4},
    {"sex": None, "mother": None, "father": None, "birth_year": None},
    {"channel": "group_session", "participants": None},
    {"referrals": [{"service": "pep", "provider": 999999}]},
    {"referrals": [{"service": "pep", "reminder_consent": True}]},
    {"surprise": 1},
])
def test_bad_bodies_are_problems_not_500(client, db, group_setup, body):
    a, _b, _users, _made = group_setup
    login(client, "a-peer")
    token = _token(client)
    if isinstance(body, dict) and body.get("idempotency_key") != "short":
        body = _body(**body) if "channel" not in body or len(body) > 1 else body
    if isinstance(body, str):
        response = client.post(URL, data=body, headers={"X-CSRFToken": token,
                                                        "Content-Type": "application/json"})
    else:
        response = _post(client, body, token=token)
    assert response.status_code in (400, 422), response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert _counts(db, a.id)[0] == 0


def test_the_openapi_document_describes_the_routes(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    post = doc["paths"]["/groups/{group_slug}/contacts"]["post"]
    assert set(post["responses"]) >= {"200", "201", "400", "401", "404", "422"}
    assert "ContactIn" in doc["components"]["schemas"]
    assert "/me" in doc["paths"]


JUNK = st.one_of(st.none(), st.booleans(), st.integers(-5, 2**70), st.text(max_size=20),
                 st.sampled_from(["2024-02-30", "25:00", "10:30", "hiv_test", "sms", "F",
                                  "\x00", "x" * 300, "in_person", "group_session"]),
                 st.lists(st.text(max_size=5), max_size=3))
KEYS = ["occurred_on", "channel", "mother", "father", "sex", "birth_year", "age_band",
        "participants", "topics", "condoms", "notes", "referrals"]
REF_KEYS = ["service", "provider", "appt_date", "appt_time", "reminder_consent",
            "reminder_channel", "contact_value"]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_bodies_never_500(client, group_setup, data):
    if not client.get_cookie("harmnet_session") or client.get("/api/v1/me").status_code != 200:
        login(client, "a-peer")
    values = data.draw(st.dictionaries(st.sampled_from(KEYS), JUNK, max_size=6))
    if data.draw(st.booleans()):
        values["referrals"] = data.draw(st.lists(
            st.dictionaries(st.sampled_from(REF_KEYS), JUNK, max_size=5), max_size=4))
    response = _post(client, _body(**values))
    assert response.status_code in (200, 201, 400, 422), response.get_data(as_text=True)


def test_an_entry_queued_by_another_person_is_refused(client, db, group_setup):
    from harmnet.offline import queue_owner

    a, _b, users, _made = group_setup
    login(client, "a-peer")
    theirs = _post(client, _body(queue_owner=queue_owner(users["a_peer2"].id)))
    assert theirs.status_code == 403 and theirs.mimetype == "application/problem+json"
    assert _counts(db, a.id)[0] == 0
    mine = _post(client, _body(queue_owner=client.get("/api/v1/me").get_json()["queue_owner"]))
    assert mine.status_code == 201
