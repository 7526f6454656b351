"""#20 items 3, 4 and 8 on a phone: cancelling an appointment asks first; the coordinator
works an outbox message (shows the number, audited; marks it passed on); supervision.
Vietnamese and English at 360x740; no worker needed (the outbox message is written as the
outbox channel writes it)."""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

PHONE = [("vi", "phone"), ("en", "phone")]


def _appointment_with_an_outbox_message(e2e) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """A peer educator's contact with an appointment in three days, reminder by the outbox,
    and one of its reminders already in the outbox. Returns (referral, appointment, message)."""
    from harmnet import tenancy
    from harmnet.extensions import db
    from harmnet.models import Appointment, OutboxMessage, PeerGroup, Referral, Reminder, User
    from harmnet.services import contacts

    tag = "".join(random.choices(string.ascii_lowercase, k=12))
    with e2e.app_context():
        group = db.session.scalar(db.select(PeerGroup).where(PeerGroup.slug == "hoa-sen"))
        peer = db.session.scalar(db.select(User.id).where(User.login == "peer-hoasen"))
        at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
        with tenancy.group_context(group.id):
            contact_id = contacts.create_contact(group.id, peer, contacts.ContactInput(
                occurred_on=datetime.now(ZoneInfo(group.timezone)).date(), channel="in_person",
                pseudonym=f"e2e-{tag}", sex="F", age_band="25-34",
                referrals=[contacts.ReferralInput("health_care", appointment=contacts.
                           AppointmentInput(at, True, "outbox", "0912 345 678"))],
            ), f"e2e-safe-{tag}")
            reminder = db.session.scalar(db.select(Reminder).join(
                Appointment, Appointment.id == Reminder.appointment_id)
                .join(Referral, Referral.id == Appointment.referral_id)
                .where(Referral.contact_id == contact_id).order_by(Reminder.send_at))
            message = OutboxMessage(group_id=group.id, reminder_id=reminder.id,
                                    recipient="0912345678", body=f"Nhắc hẹn {tag}")
            db.session.add(message)
            db.session.flush()
            reminder.status, reminder.sent_at = "sent", datetime.now(UTC)
            reminder.provider_message_id = f"outbox:{message.id}"
            ids = reminder.appointment_id, message.id
            referral_id = db.session.scalar(db.select(Appointment.referral_id).where(
                Appointment.id == ids[0]))
            db.session.commit()
    return referral_id, ids[0], ids[1]


@pytest.mark.parametrize(("lang", "viewport"), PHONE)
def test_cancel_asks_first_and_the_outbox_is_worked(ui, e2e):
    referral_id, appointment_id, message_id = _appointment_with_an_outbox_message(e2e)

    # The coordinator passes the reminder on: the number is shown (audited), then marked.
    ui.resume("coordinator")
    ui.goto("/g/hoa-sen/reminders/outbox")
    item = ui.page.locator("main li.item").filter(
        has=ui.page.locator(f"a[href$='/reminders/outbox/{message_id}']"))
    assert ui.t("To pass on") in item.inner_text() and "0912345678" not in item.inner_text()
    ui.follow(item.get_by_role("link", name=ui.t("Open to pass on")))
    assert ui.heading() == ui.t("Outbox message")
    assert "0912345678" not in ui.page.content()
    ui.button("Show", within="main")
    assert ui.page.locator("#recipient").inner_text() == "0912345678"
    assert ui.page.locator("main a[href^='sms:0912345678?body=']").count() == 1
    shown = e2e.sql("SELECT count(*) FROM audit_events WHERE action = 'outbox.recipient_shown' "
                    "AND object_id = :m", m=message_id)[0][0]
    assert shown == 1
    ui.button("Passed on", within="main")
    assert ui.t("Marked as passed on.") in ui.flashes()
    assert ui.page.locator(f"main a[href$='/reminders/outbox/{message_id}']").count() == 0
    assert e2e.sql("SELECT o.outcome, r.status FROM outbox_messages o JOIN reminders r "
                   "ON r.id = o.reminder_id WHERE o.id = :m", m=message_id)[0] == (
        "passed_on", "sent")

    # Supervision: the coordinator's month of each peer educator, on a phone.
    ui.goto("/g/hoa-sen/contacts/supervision")
    assert ui.heading() == ui.t("Supervision")
    assert ui.page.locator("main ul.sup > li").count() >= 1

    # The peer educator's "cancel" on the follow-ups asks first; "No, keep it" keeps it.
    peer = ui.another_person()
    peer.resume("peer_educator")
    peer.goto("/g/hoa-sen/contacts/follow-ups")
    item = peer.page.locator("main li.item").filter(
        has=peer.page.locator(f"a[href$='/contacts/referrals/{referral_id}']"))
    cancel = item.get_by_role("button", name=peer.t("Cancel appointment…"))
    peer.follow(cancel)
    assert peer.heading() == peer.t("Cancel appointment")
    peer.link("No, keep it", within="main")
    assert e2e.sql("SELECT status FROM appointments WHERE id = :a",
                   a=appointment_id)[0][0] == "scheduled"
    peer.follow(cancel)
    peer.button("Yes, cancel the appointment", within="main")
    assert peer.t("Appointment cancelled.") in peer.flashes()
    assert peer.path == "/g/hoa-sen/contacts/follow-ups"
    assert e2e.sql("SELECT status FROM appointments WHERE id = :a",
                   a=appointment_id)[0][0] == "cancelled"
