"""The dispatcher's sweep costs what is due, not how many groups exist: statements are
counted with SQLAlchemy's event hooks (never timed), and the sweep role reads nothing but
group ids, statuses and due times."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from tests.conftest import requires_pg
from tests.reminders.conftest import MORNING, hanoi, reminders_of, run_due, set_settings, synced


@contextmanager
def counted() -> Iterator[list[str]]:
    """Every statement any engine sends (the app's and the sweep role's) while inside."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def idle_groups(db, make_group, make_appointment, department, n: int, start: int):  # type: ignore[no-untyped-def]
    """Groups with reminders ahead (pending, not due) and one already sent: nothing to do."""
    from harmnet.models import Reminder
    from tests.support import in_group

    for k in range(start, start + n):
        group = make_group(f"idle-{k}", department=department)
        set_settings(db, group, reminder_lead_hours=[24, 2])
        synced(db, group, make_appointment(group, hanoi(2030, 3, 9, 10, 0)), MORNING)
        with in_group(group.id):
            db.session.add(Reminder(group_id=group.id, appointment_id=None, channel="sms",
                                    status="sent", send_at=MORNING - timedelta(days=30),
                                    idempotency_key=f"old-{k}"))
            db.session.commit()


def dispatch_counted(now):  # type: ignore[no-untyped-def]
    from worker.tasks.reminders import dispatch

    with counted() as statements:
        queued = dispatch(now=now, enqueue=lambda gid, batches: [])
    return queued, statements


def test_nothing_due_costs_one_statement_at_any_number_of_groups(
        db, make_group, make_department, make_appointment):
    department = make_department().code
    now = hanoi(2030, 3, 4, 11, 0)
    idle_groups(db, make_group, make_appointment, department, 2, 0)
    queued, few = dispatch_counted(now)
    assert queued == 0
    idle_groups(db, make_group, make_appointment, department, 18, 2)
    queued, many = dispatch_counted(now)
    assert queued == 0
    assert len(few) == len(many) <= 3, (few, many)


def test_due_work_in_one_group_costs_the_same_beside_many_idle_groups(
        db, group, make_group, make_department, make_appointment):
    department = make_department().code
    set_settings(db, group, reminder_lead_hours=[2])
    now = hanoi(2030, 3, 4, 11, 0)
    synced(db, group, make_appointment(group, hanoi(2030, 3, 4, 13, 0)), MORNING)
    idle_groups(db, make_group, make_appointment, department, 2, 0)
    queued, few = dispatch_counted(now)
    assert queued == 1
    # The same due work again, now beside twenty idle groups.
    synced(db, group, make_appointment(group, hanoi(2030, 3, 4, 13, 0)), MORNING)
    idle_groups(db, make_group, make_appointment, department, 18, 2)
    queued, many = dispatch_counted(now)
    assert queued == 1
    assert len(few) == len(many), (few, many)


def test_a_stale_claim_is_found_by_the_sweep_and_sent_once(db, group, make_appointment):
    from tests.reminders.conftest import claim_only

    set_settings(db, group, reminder_lead_hours=[2])
    synced(db, group, make_appointment(group, hanoi(2030, 3, 4, 13, 0)), MORNING)
    now = hanoi(2030, 3, 4, 11, 0)
    assert len(claim_only(now)) == 1  # its message is lost
    assert run_due(now + timedelta(seconds=30)) == []
    assert run_due(now + timedelta(seconds=301)) == ["sent"]
    assert run_due(now + timedelta(seconds=700)) == []


def test_an_inactive_groups_reminders_wait(db, group, make_appointment):
    set_settings(db, group, reminder_lead_hours=[2])
    synced(db, group, make_appointment(group, hanoi(2030, 3, 4, 13, 0)), MORNING)
    group.is_active = False
    db.session.commit()
    assert run_due(hanoi(2030, 3, 4, 11, 0)) == []
    assert [r.status for r in reminders_of(db, group)] == ["pending"]


@requires_pg
def test_the_sweep_role_reads_ids_and_times_of_every_group_and_nothing_else(
        db, app, two_groups, make_appointment):
    from harmnet.services.reminders import sweep_engine

    a, b, _ = two_groups
    for g in (a, b):
        set_settings(db, g, reminder_lead_hours=[2])
        synced(db, g, make_appointment(g, hanoi(2030, 3, 4, 13, 0)), MORNING)
    engine = sweep_engine()
    assert engine is not None
    with engine.connect() as conn:
        # Row-level security does not hide other groups from it...
        groups = conn.execute(text("SELECT DISTINCT group_id FROM reminders")).scalars().all()
        assert sorted(groups) == sorted([a.id, b.id])
    # ...but nothing about a reminder's person or text can be read, and nothing written.
    for sql in ("SELECT idempotency_key FROM reminders",
                "SELECT appointment_id FROM reminders",
                "SELECT contact_value FROM appointments",
                "SELECT body FROM outbox_messages",
                "SELECT name FROM peer_groups",
                "UPDATE reminders SET status = 'pending'"):
        with engine.connect() as conn, pytest.raises(Exception, match="permission denied"):
            conn.execute(text(sql))


@requires_pg
def test_without_the_sweep_role_postgresql_still_sends_group_by_group(
        db, app, two_groups, make_appointment):
    app.config["REMINDERS_DATABASE_URL"] = None
    _, b, _ = two_groups
    set_settings(db, b, reminder_lead_hours=[2])
    synced(db, b, make_appointment(b, hanoi(2030, 3, 4, 13, 0)), MORNING)
    assert run_due(hanoi(2030, 3, 4, 11, 0)) == ["sent"]


def test_a_batch_of_outbox_reminders_costs_the_same_statements_as_a_few(
        db, group, make_appointment):
    """Claim, read of the targets, outbox and record: per batch, not per reminder."""
    from worker.tasks.reminders import deliver_batch, dispatch

    set_settings(db, group, reminder_lead_hours=[2])
    now = hanoi(2030, 3, 4, 11, 0)

    def one_pass(n: int) -> tuple[list[str], list[str]]:
        for _ in range(n):
            synced(db, group, make_appointment(group, hanoi(2030, 3, 4, 13, 0),
                                               channel="outbox", provider=None), MORNING)
        batches: list[list[int]] = []
        dispatch(now=now, enqueue=lambda gid, b: batches.extend(b) or [])
        assert [len(b) for b in batches] == [n]
        with counted() as statements:
            outcomes = deliver_batch(group.id, batches[0], now=now)
        return outcomes, statements

    few, few_statements = one_pass(3)
    many, many_statements = one_pass(30)
    assert few == ["sent"] * 3 and many == ["sent"] * 30
    assert len(few_statements) == len(many_statements), (few_statements, many_statements)


def test_a_claim_takes_no_more_than_its_limit(db, group, make_appointment):
    """On PostgreSQL `id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)` can be run again per
    updated row and take far more than n; the claim must hold its limit."""
    from harmnet.services.reminders import claim_due
    from tests.support import in_group

    set_settings(db, group, reminder_lead_hours=[2])
    for _ in range(5):
        synced(db, group, make_appointment(group, hanoi(2030, 3, 4, 13, 0)), MORNING)
    now = hanoi(2030, 3, 4, 11, 0)
    taken = []
    with in_group(group.id):
        for _ in range(4):
            taken.append(len(claim_due(group.id, now, 2)))
            db.session.commit()
    assert taken == [2, 2, 1, 0]
