"""The client check answered in place (#20): a fragment for the entry page's script, and
without the script a reload that lands on the answer."""

from __future__ import annotations

import re

from tests.contacts.conftest import contact_form, make_contact
from tests.support import csrf_from, login


def test_the_client_check_answers_in_place(client, db, group_setup):
    a, _b, users, _p = group_setup
    login(client, "a-peer")
    page = client.get("/g/group-a/contacts/new").get_data(as_text=True)
    assert 'data-check="/g/group-a/contacts/check"' in page
    token = csrf_from(page)
    code = {"mother": "Lan", "father": "Minh", "sex": "F", "birth_year": "1990"}
    answer = client.post("/g/group-a/contacts/check", data={"csrf_token": token, **code})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "New client" in html and "<html" not in html  # a fragment, not a page
    assert answer.headers["Cache-Control"] == "no-store"
    make_contact(a.id, users["a_peer"].id, code="LAMIF1990")
    html = client.post("/g/group-a/contacts/check",
                       data={"csrf_token": token, **code}).get_data(as_text=True)
    assert "Returning client" in html and "seen 1 time" in html
    # Refused: no sex; no token (400 with the message, never a 500).
    refused = client.post("/g/group-a/contacts/check",
                          data={"csrf_token": token, "mother": "Lan"})
    assert refused.status_code == 400
    assert "Choose female, male or transgender." in refused.get_data(as_text=True)
    assert client.post("/g/group-a/contacts/check", data=code).status_code == 400
    # Another group's check does not exist for this person.
    assert client.post("/g/group-b/contacts/check",
                       data={"csrf_token": token, **code}).status_code == 404


def test_without_javascript_the_check_reloads_to_its_answer(client, group_setup):
    login(client, "a-peer")
    page = client.get("/g/group-a/contacts/new").get_data(as_text=True)
    assert 'formaction="/g/group-a/contacts/new#check"' in page
    data = contact_form(page, action="check")
    html = client.post("/g/group-a/contacts/new", data=data).get_data(as_text=True)
    assert re.search(r'<div id="check"[^>]*>\s*<p class="flash" role="status"><strong>New client',
                     html)
