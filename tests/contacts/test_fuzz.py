"""Hypothesis over the other forms and query strings of the area: no input makes a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harmnet.models._types import utcnow
from harmnet.services.contacts import AppointmentInput, ReferralInput
from tests.contacts.conftest import make_contact
from tests.support import csrf_from, login

JUNK = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "0", "-1", "2024-02-30", "2099-12-31", "25:00", "10:30", "completed",
                     "lost", "sms", "email", "y", "hiv_test", "x" * 400, "\x00", "2024-13",
                     "<script>", "0912 345 678", "a@b.vn"]),
)
SETTINGS = settings(max_examples=70, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.fixture
def signed_in(client, group_setup):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    a, _b, users, made = group_setup
    make_contact(a.id, users["a_coord"].id, referrals=[ReferralInput(
        "hiv_test", made["group-a"][0],
        AppointmentInput(utcnow() + timedelta(days=2), True, "sms", "0912345678"))])
    login(client, "a-coord")
    return client, csrf_from(client.get("/g/group-a/contacts/new").get_data(as_text=True))


FORMS = {
    "/g/group-a/providers/new": ["name", "services", "address", "opening_hours", "phone",
                                 "is_active"],
    "/g/group-a/providers/1/edit": ["name", "services", "phone", "is_active"],
    "/g/group-a/contacts/referrals/1": ["status", "completed_on"],
    "/g/group-a/contacts/referrals/1/appointment": ["appt_date", "appt_time",
                                                    "reminder_consent", "reminder_channel",
                                                    "contact_value"],
    "/g/group-a/contacts/appointments/1/reschedule": ["appt_date", "appt_time"],
    "/g/group-a/contacts/1/edit": ["occurred_on", "channel", "participants", "topics",
                                   "condoms", "notes"],
    "/g/group-a/contacts/1/delete": ["reason"],
}


@SETTINGS
@given(path=st.sampled_from(sorted(FORMS)), data=st.data())
def test_forms_never_500(signed_in, path, data):
    client, token = signed_in
    values = data.draw(st.dictionaries(st.sampled_from(FORMS[path]), JUNK, max_size=6))
    response = client.post(path, data={"csrf_token": token, **values})
    assert response.status_code in (200, 302, 400, 404), response.status_code


@SETTINGS
@given(query=st.dictionaries(st.sampled_from(["date_from", "date_to", "peer", "channel",
                                              "service", "page", "month"]), JUNK, max_size=5))
def test_query_strings_never_500(signed_in, query):
    client, _token = signed_in
    for path in ("/g/group-a/contacts/", "/g/group-a/contacts/cascade"):
        response = client.get(path, query_string=query)
        assert response.status_code in (200, 400), (path, response.status_code)
