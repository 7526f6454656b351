"""E-mail reminders against a real local SMTP server (aiosmtpd) started by the test."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from tests.reminders.conftest import MORNING, hanoi, reminders_of, run_due, set_settings, synced
from tests.reminders.processes import free_port


class Mailbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("bad"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((envelope.rcpt_tos, message_from_bytes(
            envelope.content, policy=policy.default)))
        return "250 Message accepted"


@pytest.fixture
def mailbox(app):  # type: ignore[no-untyped-def]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(8025))
    controller.start()
    app.config.update(REMINDER_SMTP_HOST="127.0.0.1", REMINDER_SMTP_PORT=controller.port,
                      REMINDER_EMAIL_FROM="nhac-hen@example.org")
    yield box
    controller.stop()


def test_email_reminder_is_delivered_over_smtp(db, group, make_appointment, mailbox):
    set_settings(db, group, reminder_lead_hours=[2])
    appt = make_appointment(group, hanoi(2030, 3, 4, 13, 0), channel="email",
                            contact="hoa@example.org")
    synced(db, group, appt, MORNING)
    assert run_due(hanoi(2030, 3, 4, 11, 0)) == ["sent"]
    [(rcpt, message)] = mailbox.messages
    assert rcpt == ["hoa@example.org"]
    assert message["Subject"] == "Lời nhắc"
    assert message["From"] == "nhac-hen@example.org"
    assert message.get_content().strip() == \
        "Chào bạn, nhắc bạn lịch hẹn lúc 13:00 ngày 04/03, tại 12 Phố Huế."
    [row] = reminders_of(db, group)
    assert row.status == "sent"
    assert row.provider_message_id == message["Message-ID"]
    assert row.idempotency_key.replace(":", ".") in message["Message-ID"]
    assert run_due(hanoi(2030, 3, 4, 11, 1)) == []
    assert len(mailbox.messages) == 1


def test_refused_address_fails_at_once(db, group, make_appointment, mailbox):
    set_settings(db, group, reminder_lead_hours=[2])
    appt = make_appointment(group, hanoi(2030, 3, 4, 13, 0), channel="email",
                            contact="bad@example.org")
    synced(db, group, appt, MORNING)
    assert run_due(hanoi(2030, 3, 4, 11, 0)) == ["failed"]
    [row] = reminders_of(db, group)
    assert (row.status, row.last_error) == ("failed", "smtp_550")
    assert mailbox.messages == []


def test_mail_server_down_is_retried(db, group, make_appointment, app):
    app.config.update(REMINDER_SMTP_HOST="127.0.0.1", REMINDER_SMTP_PORT=free_port(8125))
    set_settings(db, group, reminder_lead_hours=[2])
    appt = make_appointment(group, hanoi(2030, 3, 4, 13, 0), channel="email",
                            contact="hoa@example.org")
    synced(db, group, appt, MORNING)
    assert run_due(hanoi(2030, 3, 4, 11, 0)) == ["pending"]
    assert reminders_of(db, group)[0].last_error == "retry:smtp_connect"
