"""The demo seed: harmless without appointments, idempotent with them."""

from __future__ import annotations

from datetime import timedelta

from harmnet.models._types import utcnow
from tests.reminders.conftest import reminders_of


def test_seed_without_appointments_does_nothing(db):
    from harmnet.seed import core, reminders

    core.seed("demo-pass-2024")
    reminders.seed("demo-pass-2024")
    db.session.commit()
    assert reminders_of(db, core.group("hoa-sen")) == []


def test_seed_shows_each_kind_once(db, make_user, make_appointment):
    from harmnet.seed import core, reminders

    core.seed("demo-pass-2024")
    db.session.commit()
    group = core.group("hoa-sen")
    user = make_user("seed-peer", group=group)
    for days in (-3, -2, -1, 2, 5):
        make_appointment(group, utcnow() + timedelta(days=days), user=user)
    db.session.commit()
    for _ in range(2):
        reminders.seed("demo-pass-2024")
        db.session.commit()
    rows = reminders_of(db, group)
    demo = sorted(r.status for r in rows if r.idempotency_key.startswith("demo:"))
    assert demo == ["failed", "sent", "uncertain"]
    assert sum(r.status == "pending" for r in rows) == 4  # 24 h and 2 h before two upcoming
    # Nothing was handed over, sent or put in the outbox in the future.
    now = utcnow()
    assert all(r.handed_at <= now for r in rows if r.handed_at is not None)
    assert all(r.sent_at <= now for r in rows if r.sent_at is not None)
    from sqlalchemy import select

    from harmnet.models import OutboxMessage
    from tests.support import in_group

    with in_group(group.id):
        created = db.session.scalars(select(OutboxMessage.created_at)).all()
    assert created and all(c <= now for c in created)
