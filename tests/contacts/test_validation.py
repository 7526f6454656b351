"""Bad input on the entry page: a clear message, status 400, nothing saved, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from harmnet.models import Appointment, Client, Contact, Referral
from tests.contacts.conftest import contact_form, in_days, local_today, post_contact, quick_user
from tests.support import in_group, login


def _nothing_saved(db, group_id):  # type: ignore[no-untyped-def]
    with in_group(group_id):
        for model in (Contact, Client, Referral, Appointment):
            assert db.session.scalar(select(func.count()).select_from(model)) == 0


def _other_provider(made):  # type: ignore[no-untyped-def]
    return str(made["group-b"][0])


BAD = [
    ({"occurred_on": (local_today() + timedelta(days=2)).isoformat()},
     "The date cannot be after tomorrow."),
    ({"occurred_on": "26/11/2024"}, "Please enter a date"),
    ({"occurred_on": ""}, "Please enter the date of the contact."),
    ({"condoms": "-1"}, "A count cannot be negative."),
    ({"self_test_kits": "abc"}, "Please enter a whole number."),
    ({"leaflets": "100000"}, "Please enter at most 1000."),
    ({"channel": "group_session", "participants": "0"}, "needs its number of participants"),
    ({"channel": "group_session", "participants": "501"}, "Please enter at most 500."),
    ({"channel": "group_session", "participants": None}, "needs its number of participants"),
    ({"channel": "fax"}, "Please choose from the list."),
    ({"channel": None}, "Choose a channel."),
    ({"referrals-0-service": "hiv_test", "referrals-0-appt_date": in_days(-1)[0],
      "referrals-0-appt_time": "09:00"}, "The appointment must be in the future."),
    ({"referrals-0-service": "hiv_test", "referrals-0-appt_date": in_days(1)[0]},
     "An appointment needs both a date and a time."),
    ({"referrals-0-service": "hiv_test", "referrals-0-provider": "OTHER"},
     "Please choose from the list."),
    ({"referrals-0-service": "astrology"}, "Please choose from the list."),
    ({"referrals-0-provider": "FIRST"}, "Choose a service for this referral."),
    ({"referrals-0-service": "hiv_test", "referrals-0-appt_date": in_days(2)[0],
      "referrals-0-appt_time": "10:00", "referrals-0-reminder_consent": "y",
      "referrals-0-reminder_channel": "sms", "referrals-0-contact_value": "abc"},
     "Enter a phone number for the reminder"),
    ({"referrals-0-service": "hiv_test", "referrals-0-reminder_consent": "y"},
     "A reminder needs an appointment date and time."),
    ({"notes": "x" * 501}, "Please use at most 500 characters."),
    ({"sex": None}, "Choose female, male or transgender."),
    ({"sex": "Q"}, "Please choose from the list."),
    ({"birth_year": "96"}, "Enter a year of birth like 1996"),
    ({"birth_year": str(local_today().year + 1)}, "Enter a year of birth like 1996"),
    ({"mother": "", "father": "", "birth_year": ""},
     "Give at least one of the names or the year of birth."),
    ({"mother": "x" * 41}, "Please use at most 40 characters."),
    ({"birth_year": "", "age_band": ""}, "This is a new client: please choose an age band."),
    ({"topics": ["safer_sex", "palmistry"]}, "Please choose from the list."),
]


@pytest.mark.parametrize(("values", "message"), BAD, ids=[m[:30] for _, m in BAD])
def test_bad_input_is_refused_with_a_message(client, db, group_setup, values, message):
    a, _b, _users, made = group_setup
    login(client, "a-peer")
    values = dict(values)
    if values.get("referrals-0-provider") == "OTHER":
        values["referrals-0-provider"] = _other_provider(made)
    if values.get("referrals-0-provider") == "FIRST":
        values["referrals-0-provider"] = str(made["group-a"][0])
    response, sent = post_contact(client, "group-a", **values)
    html = response.get_data(as_text=True)
    assert response.status_code == 400, html[:300]
    assert message in html
    _nothing_saved(db, a.id)
    # The user's answers are kept for correcting (except what was refused).
    if "condoms" not in values:
        assert 'value="10"' in html


def test_inactive_provider_is_refused(client, db, group_setup):
    a, _b, _users, made = group_setup
    from harmnet.services import providers

    with in_group(a.id):
        provider = providers.get_provider(made["group-a"][1])
        providers.update_provider(provider, is_active=False)
        db.session.commit()
    login(client, "a-peer")
    response, _ = post_contact(client, "group-a", **{
        "referrals-0-service": "legal_aid", "referrals-0-provider": str(made["group-a"][1])})
    assert response.status_code == 400
    _nothing_saved(db, a.id)


def test_messages_are_in_vietnamese_for_a_vietnamese_user(client, db, group_setup):
    a, _b, _users, _made = group_setup
    quick_user("vi-peer", a, "peer_educator", locale="vi")
    db.session.commit()
    login(client, "vi-peer")
    response, _ = post_contact(
        client, "group-a", occurred_on=(local_today() + timedelta(days=3)).isoformat(),
        condoms="-5")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Ngày không được sau ngày mai." in html
    assert "Số lượng không được âm." in html
    _nothing_saved(db, a.id)


FIELDS = ["occurred_on", "channel", "mother", "father", "sex", "birth_year", "age_band",
          "participants", "topics", "condoms", "lubricants", "leaflets", "self_test_kits",
          "notes", "referrals-0-service", "referrals-0-provider", "referrals-0-appt_date",
          "referrals-0-appt_time", "referrals-0-reminder_consent",
          "referrals-0-reminder_channel", "referrals-0-contact_value", "referrals-2-service",
          "idempotency_key", "action", "referral_rows"]
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "0", "-1", "1", "501", "99999999999999999999", "1996", "2100-01-01",
                     "2024-02-30", "25:61", "09:00", "group_session", "zalo", "hiv_test",
                     "F", "check", "save", "add_referral", "y", "\x00", "<b>", "1e3", " ", "9999"]),
    st.dates().map(str),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=8))
def test_no_input_makes_a_500(client, group_setup, changes):
    page = client.get("/g/group-a/contacts/new")
    if page.status_code == 302:  # the first example signs in; the others reuse the session
        login(client, "a-peer")
        page = client.get("/g/group-a/contacts/new")
    data = contact_form(page.get_data(as_text=True))
    data.update(changes)
    response = client.post("/g/group-a/contacts/new", data=data)
    assert response.status_code in (200, 302, 400), response.status_code
