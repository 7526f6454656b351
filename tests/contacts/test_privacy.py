"""The client code and its answers are never stored, logged, put in a URL or the session."""

from __future__ import annotations

import logging
import unicodedata

from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import inspect, text

from tests.contacts.conftest import contact_form, in_days, post_contact
from tests.support import login

MOTHER, FATHER, YEAR = "Xuyến", "Quỳnh", "1987"
CODE = "XUQUF1987"
NEEDLES = [CODE, MOTHER, FATHER, "Xuyen", "Quynh", "XUYEN", "QUYNH", "xuyen", "quynh",
           unicodedata.normalize("NFD", MOTHER), "0987 654 321", "0987654321"]


def _all_text(database) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """(table, column, value) for every non-null value of every table, as text."""
    found = []
    engine = database.owner_engine
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            rows = conn.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608 - our tables
            columns = list(rows.keys())
            for row in rows:
                for column, value in zip(columns, row, strict=True):
                    if value is not None:
                        found.append((table, column, str(value)))
    return found


def test_code_and_answers_leave_no_trace(app, client, db, database, group_setup, caplog):
    caplog.set_level(logging.DEBUG)
    a, _b, _users, made = group_setup
    login(client, "a-peer")
    answers = {"mother": MOTHER, "father": FATHER, "birth_year": YEAR}
    day, at = in_days(4)
    seen_urls = []

    # A check, a first contact with a referral and an appointment, a returning contact.
    page = client.get("/g/group-a/contacts/new")
    check = client.post("/g/group-a/contacts/new", data=contact_form(
        page.get_data(as_text=True), action="check", **answers))
    assert check.status_code == 200
    first, _ = post_contact(client, "group-a", **answers, **{
        "referrals-0-service": "hiv_test", "referrals-0-provider": str(made["group-a"][0]),
        "referrals-0-appt_date": day, "referrals-0-appt_time": at,
        "referrals-0-reminder_consent": "y", "referrals-0-reminder_channel": "sms",
        "referrals-0-contact_value": "0987 654 321",
    })
    again, _ = post_contact(client, "group-a", mother="xuyen", father="QUYNH", birth_year=YEAR,
                            channel="zalo")
    for response in (first, again):
        assert response.status_code == 302
        seen_urls.append(response.headers["Location"])
        follow = client.get(response.headers["Location"])
        seen_urls.append(follow.request.url)
        body = follow.get_data(as_text=True)
        assert not any(n in body for n in NEEDLES)

    # The saved pages never show the code or the answers either.
    for path in ("/g/group-a/contacts/", "/g/group-a/contacts/follow-ups",
                 "/g/group-a/contacts/1", "/g/group-a/contacts/2"):
        body = client.get(path).get_data(as_text=True)
        assert not any(n in body for n in NEEDLES), path

    # Not in any column of any table (the appointment's phone is encrypted too).
    leaks = [(t, c) for t, c, v in _all_text(database) if any(n in v for n in NEEDLES)]
    assert leaks == []
    # Not in a URL, nor in the session cookie, nor in a log line.
    assert not any(n in url for url in seen_urls for n in NEEDLES)
    cookie = client.get_cookie("harmnet_session")
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    session = serializer.loads(cookie.value)
    assert not any(n in repr(session) for n in NEEDLES)
    assert not any(n in record.getMessage() for record in caplog.records for n in NEEDLES)
    # And the pseudonym itself never reaches a page.
    with app.app_context():
        from sqlalchemy import select

        from harmnet.models import Client
        from tests.support import in_group

        with in_group(a.id):
            pseudonym = db.session.scalar(select(Client.pseudonym))
    for path in ("/g/group-a/contacts/", "/g/group-a/contacts/1"):
        assert pseudonym not in client.get(path).get_data(as_text=True)
