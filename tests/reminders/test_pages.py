"""Coordinator pages: needs attention with a retry button, the outbox, settings and texts."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from harmnet.models import AuditEvent, OutboxMessage, Reminder
from harmnet.services.reminder_text import (
    DEFAULT_TEMPLATES,
    SENSITIVE_WORDS,
    sensitive_word,
    template_problem,
)
from tests.reminders.conftest import MORNING, hanoi, reminders_of, run_due, set_settings, synced
from tests.support import audit_trail, csrf_from, in_group, login

VALID = {
    "lead_hours": "24, 2", "quiet_start": "21:00", "quiet_end": "07:00", "daily_sms_cap": "200",
    "appointment_vi": DEFAULT_TEMPLATES["appointment"]["vi"],
    "appointment_en": DEFAULT_TEMPLATES["appointment"]["en"],
    "training_vi": DEFAULT_TEMPLATES["training"]["vi"],
    "training_en": DEFAULT_TEMPLATES["training"]["en"],
}


def _post(client, url, data, page=None):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


@pytest.fixture
def groups(two_groups, make_appointment, db):  # type: ignore[no-untyped-def]
    """Two groups, each with one failed and one sent (outbox) reminder."""
    a, b, users = two_groups
    ids = {}
    for group, user in ((a, users["a_coord"]), (b, users["b_coord"])):
        set_settings(db, group, reminder_lead_hours=[2])
        failed = make_appointment(group, hanoi(2030, 3, 4, 13, 0), user=user)
        [failed_id] = synced(db, group, failed, MORNING)
        sent = make_appointment(group, hanoi(2030, 3, 4, 13, 0), user=user,
                                contact="+84912345678")
        synced(db, group, sent, MORNING)
        with in_group(group.id):
            row = db.session.get(Reminder, failed_id)
            row.status, row.last_error, row.attempts = "failed", "http_400:invalid_number", 1
            db.session.commit()
        run_due(hanoi(2030, 3, 4, 11, 0))
        ids[group.slug] = failed_id
    return a, b, users, ids


def test_coordinator_sees_what_needs_attention_and_retries(client, db, groups):
    a, _b, users, ids = groups
    login(client, "a-coord")
    page = client.get("/g/group-a/reminders/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "The gateway refused the number as invalid." in html
    assert f"/g/group-a/reminders/{ids['group-a']}/retry" in html
    response = _post(client, f"/g/group-a/reminders/{ids['group-a']}/retry", {},
                     page="/g/group-a/reminders/")
    assert response.status_code == 302
    [row] = [r for r in reminders_of(db, a) if r.id == ids["group-a"]]
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, None)
    events = audit_trail(select(AuditEvent).where(AuditEvent.action == "reminder.retried"))
    assert [(e.object_id, e.actor_id) for e in events] == [(ids["group-a"], users["a_coord"].id)]


def test_outbox_shows_the_text_with_the_number_masked(client, groups):
    login(client, "a-coord")
    html = client.get("/g/group-a/reminders/outbox").get_data(as_text=True)
    assert "Chào bạn, nhắc bạn lịch hẹn lúc 13:00 ngày 04/03" in html
    assert "+84912345678" not in html and "78" in html


def test_peer_educator_gets_403(client, groups):
    _a, _b, _users, ids = groups
    login(client, "a-peer")
    for url in ("/g/group-a/reminders/", "/g/group-a/reminders/outbox",
                "/g/group-a/reminders/settings"):
        assert client.get(url).status_code == 403
    token = csrf_from(client.get("/g/group-a/").get_data(as_text=True))
    response = client.post(f"/g/group-a/reminders/{ids['group-a']}/retry",
                           data={"csrf_token": token})
    assert response.status_code == 403


def test_other_groups_reminders_are_404(client, db, groups):
    _a, b, _users, ids = groups
    login(client, "a-coord")
    assert client.get("/g/group-b/reminders/").status_code == 404
    assert client.get("/g/group-b/reminders/outbox").status_code == 404
    response = _post(client, f"/g/group-a/reminders/{ids['group-b']}/retry", {},
                     page="/g/group-a/reminders/")
    assert response.status_code == 404
    [row] = [r for r in reminders_of(db, b) if r.id == ids["group-b"]]
    assert row.status == "failed"


def test_outbox_lists_only_own_group(client, db, groups):
    a, b, _users, _ids = groups
    login(client, "b-coord")
    html = client.get("/g/group-b/reminders/outbox").get_data(as_text=True)
    with in_group(a.id):
        a_ids = db.session.scalars(select(OutboxMessage.id)).all()
        db.session.commit()
    assert html.count('class="item"') == 1 and len(a_ids) == 1


def test_settings_are_saved(client, db, login_as):
    user = login_as("coordinator")
    from harmnet.models import GroupMembership, PeerGroup

    group = db.session.scalars(select(PeerGroup)).one()
    page = client.get(f"/g/{group.slug}/reminders/settings")
    assert page.status_code == 200 and "24, 2" in page.get_data(as_text=True)
    data = {**VALID, "lead_hours": "48, 3", "quiet_start": "22:00", "daily_sms_cap": "50",
            "appointment_en": "See you at {time}, {place}."}
    response = _post(client, f"/g/{group.slug}/reminders/settings", data)
    assert response.status_code == 302
    db.session.refresh(group)
    assert group.settings["reminder_lead_hours"] == [48, 3]
    assert group.settings["quiet_start"] == "22:00"
    assert group.settings["daily_sms_cap"] == 50
    assert group.settings["reminder_templates"]["appointment"]["en"] == \
        "See you at {time}, {place}."
    assert GroupMembership  # the coordinator stays a member
    assert user.id


@pytest.mark.parametrize(("text", "word"), [
    ("Your HIV test is at {time}.", "hiv"),
    ("Nhắc bạn đi xét nghiệm lúc {time}.", "xét nghiệm"),
    ("Nhac ban di xet nghiem luc {time}.", "xét nghiệm"),
    ("Lịch PrEP lúc {time}", "prep"),
    ("Hẹn nhóm đồng đẳng lúc {time}", "đồng đẳng"),
])
def test_template_with_a_sensitive_word_is_refused_with_a_clear_message(
        client, db, login_as, text, word):
    login_as("coordinator", locale="en")
    from harmnet.models import PeerGroup

    group = db.session.scalars(select(PeerGroup)).one()
    response = _post(client, f"/g/{group.slug}/reminders/settings",
                     {**VALID, "appointment_vi": text})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "could expose the person who reads this message" in html
    assert f"“{word}”" in html
    assert "reminder_templates" not in (group.settings or {})


def test_template_placeholders_are_checked(client, db, login_as):
    login_as("coordinator", locale="en")
    from harmnet.models import PeerGroup

    group = db.session.scalars(select(PeerGroup)).one()
    for text, message in (("At {when}", "{when} is not a placeholder"),
                          ("Come at noon", "The text must contain {time}."),
                          ("At {time", "Curly braces are only for placeholders"),
                          ("At {time:>999999999}", "Curly braces are only for placeholders"),
                          ("At {time!r}", "Curly braces are only for placeholders"),
                          ("At {time.__class__}", "is not a placeholder")):
        response = _post(client, f"/g/{group.slug}/reminders/settings",
                         {**VALID, "training_en": text})
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)


def test_no_default_template_contains_a_sensitive_word():
    for kind, langs in DEFAULT_TEMPLATES.items():
        for lang, text in langs.items():
            assert sensitive_word(text) is None, (kind, lang)
            assert template_problem(text) is None, (kind, lang)


def test_the_sensitive_words_list_is_matched_as_whole_words():
    assert {"vi", "en"} <= set(SENSITIVE_WORDS)
    assert sensitive_word("Hẹn bạn lâu rồi, gặp lúc 9 giờ") is None  # "lâu", not "lậu"
    assert sensitive_word("Shiva temple at {time}") is None  # no "hiv" inside a word
    assert sensitive_word("Bệnh LẬU") == "bệnh lậu"
    assert sensitive_word("MA TUY") in ("ma túy", "ma tuý")
    for words in SENSITIVE_WORDS.values():
        for entry in words:
            assert sensitive_word(f"nhắc {entry.rstrip('*')} nhé") is not None, entry


odd_text = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["", " ", "\x00", "a" * 5000, "{", "}", "{0}", "{time.__class__}",
                     "{time!r}", "{time:>999999999}", "25:00", "-1", "9" * 30, "1,1",
                     "24,,2", "HIV {time}"]),
)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.dictionaries(st.sampled_from(sorted(VALID)), odd_text))
def test_settings_form_never_500s(client, coordinator, data):
    response = _post(client, f"/g/{coordinator}/reminders/settings", {**VALID, **data})
    assert response.status_code in (302, 400)


@pytest.fixture
def coordinator(client, make_group, make_user):  # type: ignore[no-untyped-def]
    group = make_group()
    user = make_user(group=group, role="coordinator")
    login(client, user.login)
    return group.slug


def test_the_outbox_and_problems_page_by_keyset_and_stay_in_their_group(client, db, groups):
    import re
    from datetime import timedelta

    a, b, _users, _ids = groups
    with in_group(a.id):
        for i in range(30):
            db.session.add(OutboxMessage(group_id=a.id, recipient="+84900000000",
                                         body=f"text {i}", created_at=MORNING
                                         + timedelta(minutes=i // 2)))
        db.session.commit()
    login(client, "a-coord")
    html = client.get("/g/group-a/reminders/outbox").get_data(as_text=True)
    assert html.count('<div>text ') == 25 and "Newer" not in html
    older = re.search(r'href="([^"]+)" rel="next"', html)
    assert older is not None
    rest = client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    bodies = re.findall(r"<div>(text \d+)</div>", html + rest)
    assert sorted(bodies) == sorted(f"text {i}" for i in range(30)) and "Newer" in rest
    # Group B's own text never shows in A's pages; A cannot open B's with a cursor either.
    assert client.get("/g/group-b/reminders/outbox?before=2031-01-01T00:00:00%2B00:00_1"
                      ).status_code == 404
    assert client.get("/g/group-a/reminders/?before=nonsense").status_code == 200


def test_status_counts_stop_at_a_cap_and_say_so(client, db, groups, monkeypatch):
    from harmnet.services import reminders as service

    a, _b, _users, _ids = groups
    with in_group(a.id):
        for i in range(3):
            db.session.add(Reminder(group_id=a.id, channel="sms", status="cancelled",
                                    send_at=MORNING, idempotency_key=f"old-{i}"))
        db.session.commit()
        assert service.status_counts() == {"failed": 1, "sent": 1, "cancelled": 3}
        assert service.status_counts(cap=2) == {"failed": 1, "sent": 1, "cancelled": 2}
        db.session.commit()
    login(client, "a-coord")
    monkeypatch.setattr(service, "STATUS_COUNT_CAP", 2)
    html = client.get("/g/group-a/reminders/").get_data(as_text=True)
    assert "<strong>2+</strong>" in html and "<strong>1</strong>" in html


# --- working the outbox (#20 item 4) ------------------------------------------------------


def _message_of(db, group):  # type: ignore[no-untyped-def]
    with in_group(group.id):
        message = db.session.scalar(select(OutboxMessage).execution_options(
            populate_existing=True))
        db.session.expunge(message)
        db.session.commit()
    return message


def test_coordinator_reveals_the_recipient_and_marks_it_passed_on(client, db, groups):
    a, _b, users, _ids = groups
    message = _message_of(db, a)
    login(client, "a-coord")
    listing = client.get("/g/group-a/reminders/outbox").get_data(as_text=True)
    assert "To pass on" in listing and f"/reminders/outbox/{message.id}\"" in listing
    url = f"/g/group-a/reminders/outbox/{message.id}"
    shown = client.get(url).get_data(as_text=True)
    assert "+84912345678" not in shown and "Chào bạn" in shown
    assert audit_trail(select(AuditEvent).where(
        AuditEvent.action == "outbox.recipient_shown")) == []
    revealed = _post(client, f"{url}/recipient", {}, page=url)
    html = revealed.get_data(as_text=True)
    assert revealed.status_code == 200 and "+84912345678" in html
    assert 'href="sms:+84912345678?body=' in html
    [event] = audit_trail(select(AuditEvent).where(
        AuditEvent.action == "outbox.recipient_shown"))
    assert (event.object_type, event.object_id, event.actor_id, event.group_id) == (
        "outbox_message", message.id, users["a_coord"].id, a.id)
    assert "84912345678" not in str(event.detail)
    done = _post(client, f"{url}/outcome", {"outcome": "passed_on"}, page=url)
    assert done.status_code == 302
    after = _message_of(db, a)
    assert (after.outcome, after.outcome_by) == ("passed_on", users["a_coord"].id)
    [reminder] = reminders_of(db, a, id=message.reminder_id)
    assert reminder.status == "sent"
    assert "Nothing to pass on." in client.get("/g/group-a/reminders/outbox").get_data(
        as_text=True)
    assert "Passed on" in client.get("/g/group-a/reminders/outbox?show=all").get_data(
        as_text=True)
    # A second tap (or a second coordinator) changes nothing and records nothing more.
    again = _post(client, f"{url}/outcome", {"outcome": "unreachable"}, page=url)
    assert again.status_code == 302
    assert _message_of(db, a).outcome == "passed_on"
    assert len(audit_trail(select(AuditEvent).where(
        AuditEvent.action.like("outbox.%"), AuditEvent.action != "outbox.recipient_shown"
    ))) == 1


def test_could_not_reach_puts_the_reminder_under_needs_attention_without_a_resend(
        client, db, groups):
    a, _b, _users, _ids = groups
    message = _message_of(db, a)
    login(client, "a-coord")
    url = f"/g/group-a/reminders/outbox/{message.id}"
    assert _post(client, f"{url}/outcome", {"outcome": "unreachable"}, page=url
                 ).status_code == 302
    [reminder] = reminders_of(db, a, id=message.reminder_id)
    assert (reminder.status, reminder.last_error) == ("failed", "not_reached")
    page = client.get("/g/group-a/reminders/").get_data(as_text=True)
    assert "could not reach the person" in page and url in page
    assert f"/reminders/{reminder.id}/retry" not in page
    # "Send again" would put a second copy in the outbox: refused, nothing moves.
    assert _post(client, f"/g/group-a/reminders/{reminder.id}/retry", {},
                 page="/g/group-a/reminders/").status_code == 404
    run_due(hanoi(2030, 3, 4, 11, 30))
    [reminder] = reminders_of(db, a, id=message.reminder_id)
    assert reminder.status == "failed"
    # Reached after all: the message is passed on and the reminder is sent again.
    assert _post(client, f"{url}/outcome", {"outcome": "passed_on"}, page=url
                 ).status_code == 302
    [reminder] = reminders_of(db, a, id=message.reminder_id)
    assert (reminder.status, reminder.last_error) == ("sent", None)
    with in_group(a.id):
        assert len(db.session.scalars(select(OutboxMessage.id)).all()) == 1
        db.session.commit()


def test_outbox_actions_refuse_bad_input_and_other_roles_and_groups(client, db, groups, app):
    a, b, _users, _ids = groups
    mine, theirs = _message_of(db, a), _message_of(db, b)
    login(client, "a-coord")
    url = f"/g/group-a/reminders/outbox/{mine.id}"
    odd = _post(client, f"{url}/outcome", {"outcome": "sent"}, page=url)
    assert odd.status_code == 302 and _message_of(db, a).outcome is None
    assert client.get("/g/group-a/reminders/outbox/99999999999999999999").status_code == 404
    for path in ("", "/recipient", "/outcome"):
        other = f"/g/group-a/reminders/outbox/{theirs.id}{path}"
        response = (client.get(other) if not path else
                    _post(client, other, {"outcome": "passed_on"}, page=url))
        assert response.status_code == 404, path
        assert client.get(f"/g/group-b/reminders/outbox/{theirs.id}").status_code == 404
    assert _message_of(db, b).outcome is None
    peer = app.test_client()
    login(peer, "a-peer")
    token = csrf_from(peer.get("/g/group-a/").get_data(as_text=True))
    assert peer.get(url).status_code == 403
    for path in ("/recipient", "/outcome"):
        assert peer.post(f"{url}{path}", data={"csrf_token": token, "outcome": "passed_on"}
                         ).status_code == 403
    assert _message_of(db, a).outcome is None
    assert audit_trail(select(AuditEvent).where(AuditEvent.action.like("outbox.%"))) == []


def test_purging_contact_values_erases_the_outbox_copy(db, groups):
    from datetime import timedelta

    from harmnet.models import Appointment
    from harmnet.services.reminders import purge_contact_values

    a, _b, _users, _ids = groups
    message = _message_of(db, a)
    with in_group(a.id):
        reminder = db.session.get(Reminder, message.reminder_id)
        appointment = db.session.get(Appointment, reminder.appointment_id)
        purge_contact_values(appointment.purge_after + timedelta(minutes=1))
        db.session.commit()
    after = _message_of(db, a)
    assert after.recipient is None and after.body == message.body


def test_cancelling_the_appointment_erases_the_outbox_copy(db, groups):
    from harmnet.services.appointments import cancel_appointment

    a, b, _users, _ids = groups
    message = _message_of(db, a)
    assert message.recipient == "+84912345678"
    with in_group(a.id):
        reminder = db.session.get(Reminder, message.reminder_id)
        cancel_appointment(reminder.appointment_id)
        db.session.commit()
    assert _message_of(db, a).recipient is None
    assert _message_of(db, b).recipient == "+84912345678"  # another group's stays
