"""At most once under a race: two sends of the same claimed reminder entering the send path
at the same moment (two threads, and two Celery worker processes) reach a real local
gateway once. The compare-and-set on `handed_at` in `begin_sends` is what holds it."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import REDIS_URL, requires_pg, requires_redis
from tests.reminders.conftest import MORNING, claim_only, hanoi, reminders_of, set_settings, synced
from tests.reminders.gateway import Gateway

pytestmark = [requires_pg, pytest.mark.postgres]


@pytest.fixture
def slow_gateway(app):  # type: ignore[no-untyped-def]
    """The gateway answers each POST after a second: the first send is still in flight
    when the second one arrives."""
    with Gateway(delay=1.0) as gw:
        app.config["REMINDER_SMS_GATEWAY_URL"] = gw.url
        app.config["REMINDER_SMS_GATEWAY_TOKEN"] = gw.token
        app.config["REMINDER_CHANNEL_TIMEOUT"] = 5
        yield gw


def claimed_reminder(db, group, make_appointment):  # type: ignore[no-untyped-def]
    set_settings(db, group, reminder_lead_hours=[2])
    synced(db, group, make_appointment(group, hanoi(2030, 3, 4, 13, 0)), MORNING)
    now = hanoi(2030, 3, 4, 11, 0)
    [(gid, rid)] = claim_only(now)
    return gid, rid, now


def test_two_threads_sending_the_same_reminder_deliver_it_once(
        app, db, group, make_appointment, slow_gateway):
    from worker.tasks.reminders import deliver

    gid, rid, now = claimed_reminder(db, group, make_appointment)
    start = threading.Barrier(2)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            with app.app_context():  # its own session and connection, as a second worker
                start.wait()
                outcomes.append(deliver(gid, rid, now=now))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sorted(outcomes) == ["not_ours", "sent"]
    assert slow_gateway.duplicates() == {}
    assert sum(slow_gateway.posts.values()) == 1
    assert [r.status for r in reminders_of(db, group)] == ["sent"]


@requires_redis
@pytest.mark.slow
@pytest.mark.redis
def test_two_worker_processes_sending_the_same_reminder_deliver_it_once(
        app, db, database, group, staff, tmp_path):
    import redis
    from celery import Celery

    from harmnet.models._types import utcnow
    from tests.reminders.processes import Worker, fill, status_counts, wait_until

    # The worker runs on the real clock: a reminder due now, quiet hours off.
    now = utcnow()
    fill(db, group, staff, 1, now)
    [(gid, rid)] = claim_only(now)
    redis.Redis.from_url(REDIS_URL).flushdb()  # our own db number: no stale messages
    with Gateway(delay=1.0) as gateway:
        worker = Worker(app, REDIS_URL, tmp_path, beat=False,
                        REMINDER_SMS_GATEWAY_URL=gateway.url,
                        REMINDER_SMS_GATEWAY_TOKEN=gateway.token)
        worker.start()
        try:
            # The pool is forked before the worker says it is ready: then both processes
            # are there to take one message each.
            wait_until(lambda: "ready." in worker.log.read_text(), 60, "the worker", worker)
            client = Celery(broker=REDIS_URL)
            for _ in range(2):
                client.send_task("worker.tasks.reminders.send_batch", (gid, [rid]),
                                 queue="reminders")
            wait_until(lambda: status_counts(database).get("sent") == 1, 30,
                       "the reminder sent", worker)
            time.sleep(3)  # room for a second POST to arrive, were there one
        finally:
            worker.stop()
    assert gateway.duplicates() == {}
    assert sum(gateway.posts.values()) == 1
    assert len(gateway.receipts) == 1

