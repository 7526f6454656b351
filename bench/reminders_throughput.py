"""Claim-and-dispatch throughput of reminders with the outbox channel, on real Redis.

Starts one Celery worker (prefork, prefetch 1, queue `reminders`: the production settings),
then alternates, for --rounds rounds: Celery's own throughput on a no-op task (N queued
and run), and N due reminders: the dispatcher claims them (FOR UPDATE SKIP LOCKED on
PostgreSQL) and queues one send task per batch of REMINDER_SEND_BATCH (the
claim-and-dispatch rate), the worker takes each batch, renders its texts and stores them
in the outbox (the end-to-end rate: the clock stops when the last row is `sent`). Prints
medians, in reminders per second and as ratios to the no-op rate of the same round.
Targets: at least 500 reminders/s and a ratio of at least 0.5.
Run it on a quiet machine: every figure here moves with the load of the host.

    .venv/bin/python bench/reminders_throughput.py -n 5000 --concurrency 2 \\
        --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench_reminders \\
        --redis-url redis://127.0.0.1:6379/3

The database named is dropped and created again; the Redis db is flushed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=2000, help="reminders (and no-op tasks)")
    p.add_argument("--concurrency", type=int, default=2, help="worker processes")
    p.add_argument("--rounds", type=int, default=3,
                   help="alternate no-op and reminder runs; medians are reported")
    p.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/harmnet_bench_reminders"))
    p.add_argument("--redis-url", default=os.environ.get(
        "BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"))
    p.add_argument("--app-role", default="harmnet_app",
                   help="the non-owner role the app and worker connect as (RLS applies)")
    return p.parse_args()


def prepare_database(owner_url: str, role: str) -> str:
    """Create and migrate the database; return the app role's URL."""
    from sqlalchemy import create_engine, make_url, text

    url = make_url(owner_url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    owner = url.render_as_string(hide_password=False)
    os.environ["DATABASE_URL"] = owner
    from flask_migrate import upgrade

    from harmnet import create_app
    from harmnet.cli import grant_app_role
    from harmnet.extensions import db

    app = create_app("development")
    with app.app_context():
        upgrade()
        db.engine.dispose()
    grant_app_role(owner, role)
    return url.set(username=role, password=None).render_as_string(hide_password=False)


def fill(n: int, slug: str) -> tuple[int, list[int]]:
    """A group with n appointments two hours ahead, each with one due outbox reminder."""
    from sqlalchemy import insert, select

    from harmnet import tenancy
    from harmnet.extensions import db
    from harmnet.models import Appointment, Contact, PeerGroup, Referral, Reminder
    from harmnet.models._types import utcnow
    from harmnet.services import accounts, org

    if accounts.find_user("bench") is None:
        org.create_department("bench", "Bench")
        accounts.create_user("bench", "Bench", "bench-password-123")
    user = accounts.find_user("bench")
    assert user is not None
    group = org.create_group(slug, "Bench", "peer_group", "bench")
    group.settings = {"quiet_start": "00:00", "quiet_end": "00:00"}  # any hour of the run
    db.session.commit()
    gid = group.id
    now = utcnow()
    at = now + timedelta(hours=2)
    with tenancy.group_context(gid):
        contact = Contact(group_id=gid, occurred_on=date.today(), channel="in_person",
                          peer_educator_id=user.id, idempotency_key=slug)
        db.session.add(contact)
        db.session.flush()
        referral = Referral(group_id=gid, contact_id=contact.id, service="hiv_test",
                            referred_on=date.today())
        db.session.add(referral)
        db.session.flush()
        db.session.execute(insert(Appointment), [
            {"group_id": gid, "referral_id": referral.id, "scheduled_at": at,
             "status": "scheduled", "reminder_consent": True, "channel": "outbox",
             "contact_value": f"+8490{i:07d}"} for i in range(n)])
        ids = list(db.session.scalars(select(Appointment.id).order_by(Appointment.id)))
        db.session.execute(insert(Reminder), [
            {"group_id": gid, "appointment_id": aid, "send_at": now - timedelta(minutes=1),
             "channel": "outbox", "status": "pending",
             "idempotency_key": f"appt:{aid}:2h:{int(at.timestamp())}"} for aid in ids])
        db.session.commit()
    assert db.session.get(PeerGroup, gid) is not None
    return gid, ids


def sent_count(engine, gid: int) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('harmnet.group_id', :g, true)"), {"g": str(gid)})
        return conn.scalar(text("SELECT count(*) FROM reminders WHERE status = 'sent'"))


def wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


def main() -> None:
    args = parse()
    from cryptography.fernet import Fernet

    tmp = Path(tempfile.mkdtemp(prefix="harmnet-bench-"))
    os.environ.update({
        "HARMNET_ENV": "development",
        "HARMNET_INSTANCE_DIR": str(tmp),
        "HARMNET_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "REDIS_URL": args.redis_url,
        "BENCH_COUNTER_URL": args.redis_url,
    })
    os.environ.pop("REMINDER_SMS_GATEWAY_URL", None)
    os.environ.pop("REMINDER_SMTP_HOST", None)
    app_url = prepare_database(args.database_url, args.app_role)
    os.environ["DATABASE_URL"] = app_url

    import redis
    from sqlalchemy import create_engine

    from harmnet import create_app
    from harmnet.extensions import db

    counter = redis.Redis.from_url(args.redis_url)
    counter.flushdb()
    app = create_app("development")
    ctx = app.app_context()
    ctx.push()
    import worker.tasks  # noqa: F401  (register the send task on this app)
    from worker.tasks.reminders import dispatch

    sys.path.insert(0, str(ROOT / "bench"))
    from reminders_bench_tasks import noop

    engine = create_engine(app_url.replace("postgresql://", "postgresql+psycopg://", 1))

    log = tmp / "worker.log"
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "worker.app:celery_app", "worker",
         "-Q", "reminders,celery", f"--concurrency={args.concurrency}",
         f"--loglevel={os.environ.get('BENCH_LOGLEVEL', 'WARNING')}",
         "-I", "reminders_bench_tasks", "--without-gossip", "--without-mingle",
         "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,  # noqa: SIM115
        start_new_session=True)
    celery_app = app.extensions["celery"]
    try:
        # Warm up: every pool process has started and connected.
        counter.delete("bench:noop")
        for _ in range(args.concurrency * 20):
            noop.apply_async(queue="reminders")
        wait(lambda: int(counter.get("bench:noop") or 0) >= args.concurrency * 20, 120,
             "the worker to start")

        rounds = []
        for k in range(args.rounds):
            counter.delete("bench:noop")
            start = time.perf_counter()
            with celery_app.producer_or_acquire() as producer:
                for _ in range(args.n):
                    noop.apply_async(queue="reminders", producer=producer)
            wait(lambda: int(counter.get("bench:noop") or 0) >= args.n, 600, "no-op tasks")
            noop_rate = args.n / (time.perf_counter() - start)

            gid, _ids = fill(args.n, f"bench-{k}")
            db.session.remove()
            start = time.perf_counter()
            queued = dispatch()
            db.session.remove()
            dispatched = time.perf_counter() - start
            wait(lambda gid=gid: sent_count(engine, gid) >= args.n, 600, "reminders")
            rate = args.n / (time.perf_counter() - start)
            rounds.append((noop_rate, queued / dispatched, rate))
            print(f"round {k + 1}: no-op {noop_rate:.0f}/s, dispatcher {queued / dispatched:.0f}"
                  f"/s, reminders {rate:.0f}/s, ratio {rate / noop_rate:.2f}", flush=True)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        ctx.pop()
        print(f"worker log: {log}")
    noop_rate, dispatch_rate, rate = (median(r[i] for r in rounds) for i in range(3))
    print(f"broker: Redis {args.redis_url}; database: PostgreSQL; worker: prefork "
          f"x{args.concurrency}, prefetch 1; {args.n} per run, median of {args.rounds}")
    print(f"celery no-op tasks (queued and run):   {noop_rate:8.0f} tasks/s")
    print(f"claim + dispatch (rows claimed, tasks queued): {dispatch_rate:8.0f} reminders/s, "
          f"ratio {median(r[1] / r[0] for r in rounds):.2f}")
    print(f"end to end (claimed, queued, sent to the outbox): {rate:8.0f} reminders/s, "
          f"ratio {median(r[2] / r[0] for r in rounds):.2f}")
    print("targets: >= 500 reminders/s and a ratio >= 0.5")

if __name__ == "__main__":
    main()
