"""Acceptance: a real Celery worker on real Redis and PostgreSQL against a real local SMS
gateway. 1,000 due reminders give 1,000 receipts, none twice, even when the worker is
SIGKILLed twice and the broker restarted once."""

from __future__ import annotations

import time

import pytest

from harmnet.models._types import utcnow
from tests.conftest import REDIS_URL, requires_pg, requires_redis
from tests.reminders.gateway import Gateway
from tests.reminders.processes import (
    RedisServer,
    Worker,
    fill,
    free_port,
    keys_by_status,
    status_counts,
    wait_until,
)

pytestmark = [requires_pg, requires_redis, pytest.mark.slow, pytest.mark.postgres,
              pytest.mark.redis]

N = 1000
OPEN = ("pending", "sending")


def _open_left(database) -> bool:  # type: ignore[no-untyped-def]
    counts = status_counts(database)
    return sum(counts.get(s, 0) for s in OPEN) == 0 and sum(counts.values()) == N


def _sent(database) -> int:  # type: ignore[no-untyped-def]
    return status_counts(database).get("sent", 0)


def test_1000_due_reminders_give_1000_receipts_none_twice(
        app, db, database, make_group, make_user, tmp_path):
    import redis

    group = make_group("hoa-sen")
    staff = make_user("coord", group=group, role="coordinator")
    fill(db, group, staff, N, utcnow())
    redis.Redis.from_url(REDIS_URL).flushdb()  # our own db number: no stale messages
    with Gateway() as gateway:
        worker = Worker(app, REDIS_URL, tmp_path, REMINDER_SMS_GATEWAY_URL=gateway.url,
                        REMINDER_SMS_GATEWAY_TOKEN=gateway.token)
        started = time.monotonic()
        worker.start()
        try:
            wait_until(lambda: _sent(database) > 0, 60, "a first send", worker)
            first = time.monotonic()
            wait_until(lambda: _open_left(database), 100, "every reminder settled", worker)
            done = time.monotonic()
        finally:
            worker.stop()
    counts = status_counts(database)
    print(f"\nreminders: {counts}; gateway receipts: {len(gateway.receipts)}; "
          f"duplicate posts: {len(gateway.duplicates())}; worker start to first send "
          f"{first - started:.1f} s, then {N / (done - first):.0f} reminders/s")
    assert counts == {"sent": N}
    assert len(gateway.receipts) == N
    assert gateway.duplicates() == {}
    assert set(gateway.receipts) == keys_by_status(database)["sent"]
    assert len({r["to"] for r in gateway.receipts.values()}) == N


def test_no_duplicate_when_the_worker_is_killed_twice_and_redis_restarted(
        app, db, database, make_group, make_user, tmp_path):
    group = make_group("hoa-sen")
    staff = make_user("coord", group=group, role="coordinator")
    fill(db, group, staff, N, utcnow())
    broker = RedisServer(free_port(6390))
    broker.start()
    try:
        with Gateway() as gateway:
            worker = Worker(app, broker.url, tmp_path, REMINDER_SMS_GATEWAY_URL=gateway.url,
                            REMINDER_SMS_GATEWAY_TOKEN=gateway.token)
            faults = []
            worker.start()
            try:
                wait_until(lambda: _sent(database) >= 150, 60, "first sends", worker)
                worker.kill()  # SIGKILL 1, mid-batch
                faults.append(("SIGKILL 1", status_counts(database)))
                worker.start()
                wait_until(lambda: _sent(database) >= 400, 60, "sends after restart", worker)
                worker.kill()  # SIGKILL 2
                faults.append(("SIGKILL 2", status_counts(database)))
                worker.start()
                wait_until(lambda: _sent(database) >= 600, 60, "more sends", worker)
                broker.restart()  # every queued message is lost with it
                faults.append(("Redis restart", status_counts(database)))
                wait_until(lambda: _open_left(database), 100, "every reminder settled",
                           worker)
            finally:
                worker.stop()
    finally:
        broker.stop()
    counts = status_counts(database)
    keys = keys_by_status(database)
    for fault, at in faults:
        print(f"\nat {fault}: {at}", end="")
    print(f"\nafter 2 SIGKILLs and a Redis restart: {counts}; gateway receipts: "
          f"{len(gateway.receipts)}; posts: {sum(gateway.posts.values())}; "
          f"duplicate posts: {len(gateway.duplicates())}")
    assert sum(counts.values()) == N
    assert set(counts) <= {"sent", "failed", "skipped", "uncertain"}
    assert gateway.duplicates() == {}
    assert keys.get("sent", set()) <= set(gateway.receipts)
    assert set(gateway.receipts) <= keys.get("sent", set()) | keys.get("uncertain", set())
