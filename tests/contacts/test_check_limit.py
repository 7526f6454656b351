""""Check client" says whether a code has been seen, so trying codes one by one is limited
per login; the person who hits the limit keeps what they typed and is told why."""

from __future__ import annotations

import pytest

from tests.conftest import make_config
from tests.contacts.conftest import contact_form
from tests.support import csrf_from, login


@pytest.fixture
def app_config(database):  # type: ignore[no-untyped-def]
    return make_config(database, CLIENT_CHECK_RATE_LIMIT="3 per minute")


def test_checks_are_limited_per_login_and_the_typed_values_stay(client, group_setup):
    login(client, "a-peer")
    page = client.get("/g/group-a/contacts/new").get_data(as_text=True)
    token = csrf_from(page)
    code = {"mother": "Lan", "father": "Minh", "sex": "F", "birth_year": "1990"}
    # The in-place check and the page's own button share one count.
    for _ in range(2):
        ok = client.post("/g/group-a/contacts/check", data={"csrf_token": token, **code})
        assert ok.status_code == 200 and "New client" in ok.get_data(as_text=True)
    data = contact_form(page, action="check", mother="Lan", father="Minh", birth_year="1990",
                        notes="met at the park")
    assert client.post("/g/group-a/contacts/new", data=data).status_code == 200

    refused = client.post("/g/group-a/contacts/check", data={"csrf_token": token, **code})
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    assert "Too many client checks" in html and "<html" not in html  # still a fragment
    assert "New client" not in html

    page = client.post("/g/group-a/contacts/new", data=data)
    assert page.status_code == 429
    html = page.get_data(as_text=True)
    assert "Too many client checks" in html
    assert 'value="Lan"' in html and "met at the park" in html  # nothing typed is lost

    # Saving is not a check: the contact is saved.
    saved = client.post("/g/group-a/contacts/new", data=dict(data, action="save"))
    assert saved.status_code == 302


def test_another_login_has_its_own_count(client, app, group_setup):
    login(client, "a-peer")
    token = csrf_from(client.get("/g/group-a/contacts/new").get_data(as_text=True))
    code = {"mother": "Lan", "father": "Minh", "sex": "F", "birth_year": "1990"}
    for _ in range(3):
        client.post("/g/group-a/contacts/check", data={"csrf_token": token, **code})
    assert client.post("/g/group-a/contacts/check",
                       data={"csrf_token": token, **code}).status_code == 429
    other = app.test_client()
    login(other, "a-coord")
    token = csrf_from(other.get("/g/group-a/contacts/new").get_data(as_text=True))
    assert other.post("/g/group-a/contacts/check",
                      data={"csrf_token": token, **code}).status_code == 200


def test_the_message_is_in_the_persons_language(client, group_setup):
    from tests.contacts.conftest import quick_user

    quick_user("a-vi", group_setup[0], "peer_educator", locale="vi")
    login(client, "a-vi")
    token = csrf_from(client.get("/g/group-a/contacts/new").get_data(as_text=True))
    code = {"mother": "Lan", "father": "Minh", "sex": "F", "birth_year": "1990"}
    for _ in range(3):
        client.post("/g/group-a/contacts/check", data={"csrf_token": token, **code})
    refused = client.post("/g/group-a/contacts/check", data={"csrf_token": token, **code})
    assert refused.status_code == 429
    assert "Kiểm tra mã khách hàng quá nhiều lần" in refused.get_data(as_text=True)
