"""A retried or double-clicked submit never creates two contacts."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from harmnet.models import Appointment, Client, Contact, Referral
from tests.conftest import IsolatedClient, requires_pg
from tests.contacts.conftest import contact_form, in_days
from tests.support import in_group, login


def _counts(db, group_id):  # type: ignore[no-untyped-def]
    with in_group(group_id):
        return tuple(db.session.scalar(select(func.count()).select_from(m))
                     for m in (Contact, Client, Referral, Appointment))


def _form(client, made):  # type: ignore[no-untyped-def]
    page = client.get("/g/group-a/contacts/new")
    day, at = in_days(5)
    return contact_form(page.get_data(as_text=True), **{
        "referrals-0-service": "hiv_test", "referrals-0-provider": str(made["group-a"][0]),
        "referrals-0-appt_date": day, "referrals-0-appt_time": at,
    })


def test_same_form_posted_twice_saves_once(client, db, group_setup):
    a, _b, _users, made = group_setup
    login(client, "a-peer")
    data = _form(client, made)
    first = client.post("/g/group-a/contacts/new", data=data)
    second = client.post("/g/group-a/contacts/new", data=data)
    assert first.status_code == second.status_code == 302
    # Both land on the same saved contact; the second says it was not saved twice.
    assert first.headers["Location"] == second.headers["Location"]
    assert "not saved twice" in client.get(second.headers["Location"]).get_data(as_text=True)
    assert _counts(db, a.id) == (1, 1, 1, 1)


def test_a_new_form_is_a_new_contact(client, db, group_setup):
    a, _b, _users, made = group_setup
    login(client, "a-peer")
    client.post("/g/group-a/contacts/new", data=_form(client, made))
    client.post("/g/group-a/contacts/new", data=_form(client, made))
    assert _counts(db, a.id) == (2, 1, 2, 2)  # the same client, seen twice


def test_a_token_from_another_group_does_not_hide_a_contact(client, db, group_setup):
    a, b, _users, made = group_setup
    login(client, "a-peer")
    data = _form(client, made)
    client.post("/g/group-a/contacts/new", data=data)
    client.post("/logout", data={"csrf_token": data["csrf_token"]})
    login(client, "b-peer")
    page = client.get("/g/group-b/contacts/new")
    data_b = contact_form(page.get_data(as_text=True), idempotency_key=data["idempotency_key"])
    response = client.post("/g/group-b/contacts/new", data=data_b)
    assert response.status_code == 302
    assert _counts(db, b.id)[0] == 1  # the key is unique per group only


@requires_pg
def test_two_racing_posts_with_one_token_save_one_contact(app, client, db, group_setup):
    a, _b, _users, made = group_setup
    login(client, "a-peer")
    for _round in range(5):
        data = _form(client, made)
        cookie = client.get_cookie("harmnet_session")
        clients = [client, IsolatedClient(app, app.response_class, use_cookies=True)]
        clients[1].set_cookie(cookie.key, cookie.value, domain=cookie.domain or "localhost")
        barrier = threading.Barrier(2)
        results: list = [None, None]

        def post(i: int, barrier=barrier, results=results, clients=clients, data=data) -> None:  # type: ignore[no-untyped-def]
            with app.app_context():
                barrier.wait()
                results[i] = clients[i].post("/g/group-a/contacts/new", data=data)

        threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert [r.status_code for r in results] == [302, 302]
        assert results[0].headers["Location"] == results[1].headers["Location"]
    contacts, clients_count, referrals, appointments = _counts(db, a.id)
    assert (contacts, clients_count, referrals, appointments) == (5, 1, 5, 5)
