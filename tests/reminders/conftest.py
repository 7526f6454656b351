"""Fixtures of the reminders area: appointments and training invitations to remind of."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.conftest import make_config
from tests.support import in_group

#: The dispatcher's sweep role on PostgreSQL (`flask db-reminders-role`).
SWEEP_ROLE = "harmnet_reminders_test"

#: A fixed instant, mid-morning in Hanoi (10:00 +07), far from quiet hours.
MORNING = datetime(2030, 3, 4, 3, 0, tzinfo=UTC)


def hanoi(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    """A Hanoi wall-clock time as UTC."""
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - timedelta(hours=7)


@pytest.fixture(scope="session")
def sweep_url(database):  # type: ignore[no-untyped-def]
    """PostgreSQL: a URL logging in as the narrow sweep role. SQLite needs none."""
    if not database.is_postgres:
        return None
    from sqlalchemy import make_url

    from harmnet.cli import grant_reminders_role

    grant_reminders_role(database.owner_url, SWEEP_ROLE)
    return make_url(database.owner_url).set(username=SWEEP_ROLE, password=None
                                            ).render_as_string(hide_password=False)


@pytest.fixture
def app_config(database, sweep_url):  # type: ignore[no-untyped-def]
    """Reminder tests run the dispatcher as production does: with the sweep role."""
    return make_config(database, REMINDERS_DATABASE_URL=sweep_url)


@pytest.fixture(autouse=True)
def _close_sweep_engine(app):  # type: ignore[no-untyped-def]
    yield
    for engine in app.extensions.pop("harmnet_reminders_sweep_engine", {}).values():
        engine.dispose()


@pytest.fixture
def group(make_group, db):  # type: ignore[no-untyped-def]
    return make_group("hoa-sen", name="CLB Hoa Sen")


@pytest.fixture
def staff(make_user, group):  # type: ignore[no-untyped-def]
    return make_user("coord", group=group, role="coordinator")


@pytest.fixture
def make_appointment(db, staff):  # type: ignore[no-untyped-def]
    """An appointment through the models (the contacts area's forms are not needed)."""
    from harmnet.models import Appointment, Contact, Provider, Referral

    def make(group, at: datetime, *, consent: bool = True, contact: str | None = "+84901234567",
             channel: str | None = "sms", provider: str | None = "12 Phố Huế",
             status: str = "scheduled", user=None):  # type: ignore[no-untyped-def]
        with in_group(group.id):
            provider_id = None
            if provider:
                p = Provider(group_id=group.id, name="Phòng khám Ánh Dương", address=provider)
                db.session.add(p)
                db.session.flush()
                provider_id = p.id
            c = Contact(group_id=group.id, occurred_on=date(2030, 3, 1), channel="in_person",
                        peer_educator_id=(user or staff).id,
                        idempotency_key=uuid.uuid4().hex)
            db.session.add(c)
            db.session.flush()
            r = Referral(group_id=group.id, contact_id=c.id, service="hiv_test",
                         referred_on=date(2030, 3, 1), provider_id=provider_id)
            db.session.add(r)
            db.session.flush()
            a = Appointment(group_id=group.id, referral_id=r.id, provider_id=provider_id,
                            scheduled_at=at, status=status, reminder_consent=consent,
                            channel=channel, contact_value=contact)
            db.session.add(a)
            db.session.flush()
            return a

    return make


@pytest.fixture
def make_attendance(db):  # type: ignore[no-untyped-def]
    from harmnet.models import Attendance, Member, Training

    def make(group, at: datetime, *, consent: bool = True, phone: str | None = "+84907654321",
             location: str = "Nhà văn hoá phường", status: str = "invited"):  # type: ignore[no-untyped-def]
        with in_group(group.id):
            m = Member(group_id=group.id, alias="Hoa", phone=phone, reminder_consent=consent)
            t = Training(group_id=group.id, title="Kỹ năng tư vấn", topic="counselling_skills",
                         starts_at=at, location=location)
            db.session.add_all([m, t])
            db.session.flush()
            a = Attendance(group_id=group.id, training_id=t.id, member_id=m.id, status=status)
            db.session.add(a)
            db.session.flush()
            return a

    return make


def set_settings(db, group, **values) -> None:  # type: ignore[no-untyped-def]
    group.settings = {**(group.settings or {}), **values}
    db.session.commit()


def reminders_of(db, group, **where):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from harmnet.models import Reminder

    with in_group(group.id):
        stmt = select(Reminder).order_by(Reminder.send_at)
        for key, value in where.items():
            stmt = stmt.where(getattr(Reminder, key) == value)
        rows = list(db.session.scalars(stmt.execution_options(populate_existing=True)))
        for row in rows:
            db.session.expunge(row)  # a snapshot: no reload outside the group's context
        db.session.commit()
    return rows


def run_due(now: datetime) -> list[str]:
    """One dispatcher pass at `now`, each send run at once with the same clock."""
    from worker.tasks.reminders import deliver_batch, dispatch

    outcomes: list[str] = []

    def enqueue(group_id: int, batches: list[list[int]]) -> list[int]:
        for batch in batches:
            outcomes.extend(deliver_batch(group_id, batch, now=now))
        return []

    dispatch(now=now, enqueue=enqueue)
    return outcomes


def claim_only(now: datetime) -> list[tuple[int, int]]:
    """A dispatcher pass whose send messages are lost (never delivered)."""
    from worker.tasks.reminders import dispatch

    claimed: list[tuple[int, int]] = []

    def enqueue(group_id: int, batches: list[list[int]]) -> list[int]:
        claimed.extend((group_id, rid) for batch in batches for rid in batch)
        return []

    dispatch(now=now, enqueue=enqueue)
    return claimed


def synced(db, group, appointment, now: datetime):  # type: ignore[no-untyped-def]
    from harmnet.services.reminders import sync_appointment_reminders

    with in_group(group.id):
        ids = [r.id for r in sync_appointment_reminders(appointment, now=now)]
        db.session.commit()
    return ids


@pytest.fixture
def gateway(app):  # type: ignore[no-untyped-def]
    from tests.reminders.gateway import Gateway

    with Gateway() as gw:
        app.config["REMINDER_SMS_GATEWAY_URL"] = gw.url
        app.config["REMINDER_SMS_GATEWAY_TOKEN"] = gw.token
        app.config["REMINDER_CHANNEL_TIMEOUT"] = 5
        yield gw
