"""A peer educator's contact with a referral and a reminder, and a coordinator's reminders:
the discreet text in the outbox, a reminder refused at send time with its reason, sent again.
Each flow once in Vietnamese on a phone and once in English on a laptop, with the real worker.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import bindparam, text

from harmnet.models._types import UTCDateTime

from .stack import Stack, wait_for

FLOWS = [("vi", "phone"), ("en", "desktop")]
DISPATCH = "worker.tasks.reminders.dispatch_due"


@contextmanager
def group_settings(e2e: Stack, **changes: object) -> Iterator[dict]:
    """CLB Hoa Sen's settings changed for the block, then put back as they were."""
    from harmnet.extensions import db
    from harmnet.models import PeerGroup

    def update(new: dict | None = None) -> dict:
        with e2e.app_context():
            group = db.session.scalar(db.select(PeerGroup).where(PeerGroup.slug == "hoa-sen"))
            before = dict(group.settings or {})
            group.settings = new if new is not None else {**before, **changes}
            db.session.commit()
            return before

    before = update()
    try:
        yield before
    finally:
        update(before)


#: Quiet hours off (start = end), so the flow does not depend on the time of day it runs.
NO_QUIET_HOURS = {"quiet_start": "12:00", "quiet_end": "12:00"}


def make_due(e2e: Stack, reminder_id: int) -> None:
    """The reminder's time has come (as the owner: the app role never moves send_at)."""
    statement = text("UPDATE reminders SET send_at = :at WHERE id = :id").bindparams(
        bindparam("at", type_=UTCDateTime()))
    with e2e.owner_engine.begin() as conn:
        conn.execute(statement, {"at": datetime.now(UTC) - timedelta(minutes=1),
                                 "id": reminder_id})


def reminder_status(e2e: Stack, reminder_id: int) -> tuple[str, str | None]:
    row = e2e.sql("SELECT status, last_error FROM reminders WHERE id = :id", id=reminder_id)[0]
    return row[0], row[1]


def expected_text(e2e: Stack, reminder_id: int, at: datetime) -> str:
    """The discreet text the group's template makes for this reminder (no place given)."""
    from harmnet.extensions import db
    from harmnet.models import PeerGroup
    from harmnet.services.reminder_text import group_templates, render

    locale = e2e.sql("SELECT locale FROM reminders WHERE id = :id", id=reminder_id)[0][0]
    with e2e.app_context():
        group = db.session.scalar(db.select(PeerGroup).where(PeerGroup.slug == "hoa-sen"))
        locale = locale or group.locale or "vi"
        template = group_templates(group.settings)["appointment"][locale]
        return render(template, at=at, tz=group.timezone, locale=locale, place=None,
                      group_name=group.name)


def new_client_names() -> tuple[str, str, str]:
    """A mother's and father's given name and a year no client of the demo data has."""
    rng = random.SystemRandom()
    letters = "BCGKLMNPQRSTVX"
    return ("".join(rng.choice(letters) for _ in range(2)) + "a",
            "".join(rng.choice(letters) for _ in range(2)) + "o",
            str(rng.randint(1960, 2004)))


@pytest.mark.parametrize(("lang", "viewport"), FLOWS)
def test_peer_educator_records_a_contact_whose_reminder_reaches_the_outbox(ui, e2e):
    e2e.worker()
    ui.resume("peer_educator")
    ui.nav("New contact")
    assert ui.heading() == ui.t("New contact")

    mother, father, year = new_client_names()
    ui.fill({"Mother's given name": mother, "Father's given name": father,
             "Year of birth": year})
    ui.field("Female").check()
    # Answered in place (the page's script asks; without it the page reloads to #check).
    ui.page.locator("main").get_by_role("button", name=ui.t("Check client"), exact=True).click()
    expect(ui.page.locator("#check [role=status]")).to_contain_text(ui.t("New client"))

    ui.page.get_by_label(ui.t("Condoms"), exact=True).fill("10")
    service = ui.t("Legal aid")
    ui.page.locator("main summary").filter(has_text=ui.t("Referral")).first.click()
    ui.page.get_by_label(ui.t("Service"), exact=True).first.select_option(label=service)
    ui.page.locator("main summary").filter(has_text=ui.t("Book an appointment")).first.click()
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    day = datetime.now(tz).date() + timedelta(days=3)
    at = datetime.combine(day, time(10, 37), tzinfo=tz)
    ui.page.get_by_label(ui.t("Appointment date"), exact=True).first.fill(day.isoformat())
    ui.page.get_by_label(ui.t("Time"), exact=True).first.fill("10:37")
    ui.page.get_by_label(ui.t("The client agrees to a reminder"), exact=True).first.check()
    ui.page.get_by_label(ui.t("Reminder by"), exact=True).first.select_option("outbox")
    ui.button("Save contact", within="main")
    assert any(f.startswith(ui.t("Contact saved.")) for f in ui.flashes())
    contact_id = int(parse_qs(urlsplit(ui.page.url).query)["saved"][0])

    referral_id, appointment_id = e2e.sql(
        "SELECT r.id, a.id FROM referrals r JOIN appointments a ON a.referral_id = r.id "
        "WHERE r.contact_id = :c", c=contact_id)[0]
    reminders = e2e.sql("SELECT id FROM reminders WHERE appointment_id = :a "
                        "AND status = 'pending' ORDER BY send_at", a=appointment_id)
    assert len(reminders) == 2, "24 h and 2 h before (the group's lead times)"

    ui.nav("Follow-ups")
    item = ui.page.locator("main li.item").filter(
        has=ui.page.locator(f"a[href$='/contacts/referrals/{referral_id}']"))
    assert service in item.inner_text()
    assert ui.t("Outbox (the coordinator passes it on)") in item.inner_text()
    code = (mother[:2] + father[:2]).upper() + "F" + year
    assert code not in ui.page.content()  # never a client code on a page

    first = reminders[0][0]
    with group_settings(e2e, **NO_QUIET_HOURS):
        make_due(e2e, first)
        e2e.enqueue(DISPATCH)
        wait_for(lambda: reminder_status(e2e, first)[0] not in ("pending", "sending"),
                 timeout=40, what="the worker to send the reminder")
    assert reminder_status(e2e, first) == ("sent", None)

    coordinator = ui.another_person()
    coordinator.resume("coordinator")
    coordinator.nav("Reminders")
    coordinator.link("Outbox", within="main")
    outbox = coordinator.page.locator("main ul.list").inner_text()
    assert expected_text(e2e, first, at) in outbox
    assert service not in outbox and code not in outbox


@pytest.mark.parametrize(("lang", "viewport"), FLOWS)
def test_coordinator_sees_a_failed_reminder_with_its_reason_and_sends_it_again(ui, e2e):
    from harmnet import tenancy
    from harmnet.extensions import db
    from harmnet.models import PeerGroup, User
    from harmnet.services import contacts

    e2e.worker()
    # A peer educator's contact with an appointment in three hours, reminder by the outbox.
    with e2e.app_context():
        group = db.session.scalar(db.select(PeerGroup).where(PeerGroup.slug == "hoa-sen"))
        peer = db.session.scalar(db.select(User.id).where(User.login == "peer-hoasen"))
        at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
        with tenancy.group_context(group.id):
            contact_id = contacts.create_contact(group.id, peer, contacts.ContactInput(
                occurred_on=datetime.now(ZoneInfo(group.timezone)).date(), channel="in_person",
                pseudonym="e2e-" + "".join(random.choices(string.ascii_lowercase, k=12)),
                sex="F", age_band="25-34",
                referrals=[contacts.ReferralInput("health_care", appointment=contacts.
                           AppointmentInput(at, True, "outbox", "0912 345 678"))],
            ), "e2e-" + "".join(random.choices(string.ascii_letters, k=20)))
            db.session.commit()
    reminder_id = e2e.sql(
        "SELECT m.id FROM reminders m JOIN appointments a ON a.id = m.appointment_id "
        "JOIN referrals r ON r.id = a.referral_id WHERE r.contact_id = :c "
        "AND m.status = 'pending'", c=contact_id)[0][0]

    # A template saved before its word was on the list: refused when the text is made.
    risky = {"vi": "Nhắc bạn lịch xét nghiệm HIV lúc {time}.",
             "en": "Your HIV test is at {time}."}
    with group_settings(e2e, **NO_QUIET_HOURS) as before:
        templates = {**(before.get("reminder_templates") or {}), "appointment": risky}
        with group_settings(e2e, reminder_templates=templates):
            make_due(e2e, reminder_id)
            e2e.enqueue(DISPATCH)
            wait_for(lambda: reminder_status(e2e, reminder_id)[0] == "failed", timeout=40,
                     what="the send task to refuse the text")
        assert reminder_status(e2e, reminder_id) == ("failed", "sensitive_text")

        ui.resume("coordinator")
        ui.nav("Reminders")
        assert ui.heading() == ui.t("Reminders")
        retry = f"form[action$='/reminders/{reminder_id}/retry']"
        item = ui.page.locator("main li.item").filter(has=ui.page.locator(retry))
        form = item.locator(retry)
        shown = item.inner_text()
        assert ui.t("Failed") in shown
        assert ui.t("The text contained a word that could expose the person; "
                    "change the template (or the group name in it).") in shown
        assert ui.t("Outbox (the coordinator passes it on)") in shown  # a name, not "outbox"

        # The template is fixed (back to the discreet default); the coordinator sends again.
        ui.follow(form.get_by_role("button", name=ui.t("Send again")))
        assert ui.t("The reminder will be sent within a minute.") in ui.flashes()
        assert ui.page.locator(f"main form[action$='/reminders/{reminder_id}/retry']").count() \
            == 0
        e2e.enqueue(DISPATCH)
        wait_for(lambda: reminder_status(e2e, reminder_id)[0] == "sent", timeout=40,
                 what="the reminder sent again")
    ui.link("Outbox", within="main")
    assert "HIV" not in ui.page.locator("main").inner_text()
