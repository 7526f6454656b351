"""Real processes for the acceptance tests: a Celery worker (with beat) and a redis-server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select, text

ROOT = Path(__file__).resolve().parents[2]


def free_port(preferred: int) -> int:
    for port in [preferred, *range(preferred + 1, preferred + 20)]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


class RedisServer:
    """Our own redis-server (never the shared one): no persistence, so a restart loses
    every queued message, as a crash of an unpersisted broker would."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


class Worker:
    """`celery worker -B` as its own process group, configured through the environment."""

    def __init__(self, app, broker_url: str, tmp: Path, beat: bool = True, **env: str  # type: ignore[no-untyped-def]
                 ) -> None:
        self.beat = beat
        self.env = {
            **os.environ,
            "HARMNET_ENV": "development",
            "HARMNET_INSTANCE_DIR": str(tmp),
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": broker_url,
            "HARMNET_ENCRYPTION_KEYS": ",".join(app.config["ENCRYPTION_KEYS"]),
            "HARMNET_REMINDER_DISPATCH_SECONDS": "1",
            "REMINDER_STALE_SECONDS": "8",
            "REMINDER_BACKOFF_SECONDS": "1",
            "PYTHONPATH": str(ROOT),
            **({"REMINDERS_DATABASE_URL": app.config["REMINDERS_DATABASE_URL"]}
               if app.config.get("REMINDERS_DATABASE_URL") else {}),
            **env,
        }
        self.log = tmp / "worker.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "worker.app:celery_app", "worker",
                 *(["-B"] if self.beat else []),
                 "-Q", "reminders,celery", "--concurrency=2", "--loglevel=INFO",
                 "--without-gossip", "--without-mingle", "--without-heartbeat",
                 "--hostname", f"acceptance{self.starts}@%h"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def kill(self) -> None:
        """SIGKILL the worker, its pool and its beat: what a power cut does."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def exited(self) -> int | None:
        """The worker's exit code, or None while it runs."""
        return self.proc.poll() if self.proc else None

    def tail(self) -> str:
        """Every log record's first line (what happened, in order), then the log's end."""
        if not self.log.exists():
            return ""
        text = self.log.read_text()
        records = [line[:300] for line in text.splitlines()
                   if line.startswith("[") and " Task " not in line]  # not each task's lines
        return "\n".join(records[-80:]) + "\n--- end of the log ---\n" + text[-2000:]


def fill(db, group, staff, n: int, now) -> None:  # type: ignore[no-untyped-def]
    """`n` appointments two hours ahead, each with one reminder due a minute ago."""
    from datetime import date

    from harmnet.models import Appointment, Contact, Referral, Reminder
    from tests.support import in_group

    group.settings = {"reminder_lead_hours": [2], "quiet_start": "00:00",
                      "quiet_end": "00:00", "daily_sms_cap": 100000}
    db.session.commit()
    at = now + timedelta(hours=2)
    with in_group(group.id):
        contact = Contact(group_id=group.id, occurred_on=date.today(), channel="in_person",
                          peer_educator_id=staff.id, idempotency_key="acceptance")
        db.session.add(contact)
        db.session.flush()
        referral = Referral(group_id=group.id, contact_id=contact.id, service="hiv_test",
                            referred_on=date.today())
        db.session.add(referral)
        db.session.flush()
        db.session.execute(insert(Appointment), [
            {"group_id": group.id, "referral_id": referral.id, "scheduled_at": at,
             "status": "scheduled", "reminder_consent": True, "channel": "sms",
             "contact_value": f"+8490{i:07d}"} for i in range(n)])
        ids = db.session.scalars(select(Appointment.id).order_by(Appointment.id)).all()
        db.session.execute(insert(Reminder), [
            {"group_id": group.id, "appointment_id": aid, "send_at": now - timedelta(minutes=1),
             "channel": "sms", "status": "pending",
             "idempotency_key": f"appt:{aid}:2h:{int(at.timestamp())}"} for aid in ids])
        db.session.commit()


def status_counts(database) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Counted as the owner (a superuser here), across groups, outside the app."""
    with database.owner_engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT status, count(*) FROM reminders GROUP BY status")).all())


def keys_by_status(database) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    out: dict[str, set[str]] = {}
    with database.owner_engine.connect() as conn:
        for status, key in conn.execute(text("SELECT status, idempotency_key FROM reminders")):
            out.setdefault(status, set()).add(key)
    return out


def wait_until(predicate, timeout: float, what: str, worker: Worker | None = None):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if worker is not None and worker.exited() is not None:
            # A worker must survive a broker restart; waiting on would only hide that.
            raise AssertionError(f"the worker exited (code {worker.exited()}) while waiting "
                                 f"for {what}\n" + worker.tail())
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}\n" + (worker.tail() if worker else ""))
