"""The real stack the browser suite (and bench/) drives: gunicorn and a Celery worker as child
processes on localhost, sharing one database, broker and set of keys through HARMNET_E2E_*."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import Engine, text

from config import Config, TestingConfig

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "demo-pass-2024"  # noqa: S105 - the documented demo password (DESIGN 11)

CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def find_chromium() -> str | None:
    """Debian's Chromium (never a downloaded build): $HARMNET_CHROMIUM, /usr/bin/chromium, PATH."""
    for candidate in (os.environ.get("HARMNET_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stack_env(database_url: str, owner_url: str, workdir: Path,
              redis_url: str | None = None) -> dict[str, str]:
    """The variables every process of one stack shares (keys are made fresh per stack)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        "HARMNET_E2E_DATABASE_URL": database_url,
        "HARMNET_E2E_OWNER_URL": owner_url,
        "HARMNET_E2E_SECRET_KEY": secrets.token_urlsafe(48),
        "HARMNET_E2E_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "HARMNET_E2E_PSEUDONYM_KEY": secrets.token_urlsafe(32),
        "HARMNET_E2E_BROKER_DIR": str(workdir / "broker"),
        "HARMNET_E2E_RUN": secrets.token_hex(5),
        "HARMNET_INSTANCE_DIR": str(workdir / "instance"),
    }
    if redis_url:
        env["HARMNET_E2E_REDIS_URL"] = redis_url
    return env


def config_from_env(environ: dict[str, str] | os._Environ[str] = os.environ) -> TestingConfig:
    """The configuration of a stack process: like production (no TESTING, a real broker,
    tasks not eager), but plain HTTP on localhost and the test database."""
    cfg = TestingConfig()
    cfg.TESTING = False
    cfg.SQLALCHEMY_DATABASE_URI = environ["HARMNET_E2E_DATABASE_URL"]
    cfg.MIGRATION_DATABASE_URL = environ.get("HARMNET_E2E_OWNER_URL") or cfg.SQLALCHEMY_DATABASE_URI
    cfg.SECRET_KEY = environ["HARMNET_E2E_SECRET_KEY"]
    cfg.ENCRYPTION_KEYS = environ["HARMNET_E2E_ENCRYPTION_KEYS"].split(",")
    cfg.PSEUDONYM_KEY = environ["HARMNET_E2E_PSEUDONYM_KEY"]
    cfg.RATELIMIT_KEY_PREFIX = "e2e" + environ.get("HARMNET_E2E_RUN", "")
    # Every simulated phone comes from 127.0.0.1: the per-address limit on invitation links
    # (30 a minute) would count the whole suite as one person.
    cfg.INVITATION_RATE_LIMIT = "1000 per minute"
    celery = dict(Config.CELERY, task_always_eager=False)
    redis_url = environ.get("HARMNET_E2E_REDIS_URL")
    if redis_url:
        cfg.REDIS_URL = redis_url
        cfg.RATELIMIT_STORAGE_URI = redis_url
        celery["broker_url"] = redis_url
    else:
        # kombu's filesystem transport, as in the embedded default: no server needed.
        broker = Path(environ["HARMNET_E2E_BROKER_DIR"])
        for sub in ("out", "processed"):
            (broker / sub).mkdir(parents=True, exist_ok=True)
        celery["broker_url"] = "filesystem://"
        celery["broker_transport_options"] = {
            "data_folder_in": str(broker / "out"),
            "data_folder_out": str(broker / "out"),
            "processed_folder": str(broker / "processed"),
            "control_folder": str(broker / "control"),
            "store_processed": False,
        }
    cfg.CELERY = celery
    return cfg


def migrate(env: dict[str, str]) -> None:
    """Bring a fresh database to the newest schema (as its owner)."""
    from flask_migrate import upgrade

    from harmnet import create_app
    from harmnet.extensions import db

    cfg = config_from_env(env)
    cfg.SQLALCHEMY_DATABASE_URI = cfg.MIGRATION_DATABASE_URL
    app = create_app(cfg)
    with app.app_context():
        upgrade()
        db.engine.dispose()


def seed_demo(env: dict[str, str], password: str = DEMO_PASSWORD) -> None:
    """`flask seed-demo`, run the way the CLI runs it: as the app's database role."""
    from harmnet import create_app
    from harmnet.extensions import db
    from harmnet.seed import run_all

    app = create_app(config_from_env(env))
    with app.app_context():
        run_all(password)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _child_env(env: dict[str, str]) -> dict[str, str]:
    merged = {**os.environ, **env}
    merged["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    merged.pop("HARMNET_ENV", None)
    return merged


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


@dataclass
class Process:
    """A child process of the stack with its log file (shown when something goes wrong)."""

    name: str
    popen: subprocess.Popen
    log: Path
    extra: dict = field(default_factory=dict)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


def start_web(env: dict[str, str], workdir: Path, port: int | None = None,
              threads: int = 4, workers: int = 1) -> tuple[Process, str]:
    """gunicorn serving the stack's app on 127.0.0.1; returns the process and its base URL."""
    port = port or free_port()
    log = workdir / "web.log"
    cmd = [
        _bin("gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        "--worker-class", "gthread", "--threads", str(threads), "--timeout", "60",
        "--access-logfile", "-", "--access-logformat", '"%(m)s %(U)s" %(s)s %(b)s',
        "tests.browser.e2e_app:app",
    ]
    with log.open("wb") as out:
        popen = subprocess.Popen(cmd, cwd=ROOT, env=_child_env(env), stdout=out,  # noqa: S603
                                 stderr=subprocess.STDOUT)
    proc = Process("web", popen, log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"the web server exited:\n{proc.log_tail()}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as r:  # noqa: S310
                if r.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.2)
    proc.stop()
    raise RuntimeError(f"the web server did not answer in time:\n{proc.log_tail()}")


def start_worker(env: dict[str, str], workdir: Path, beat: bool = False) -> Process:
    """A real Celery worker (solo pool, one process) on the stack's broker; waits until ready."""
    log = workdir / "worker.log"
    cmd = [
        _bin("celery"), "-A", "tests.browser.e2e_app:celery_app", "worker", "--pool", "solo",
        "--loglevel", "INFO", "--queues", "celery,reminders,reports", "--without-gossip",
        "--without-mingle", "--hostname", f"e2e-{env.get('HARMNET_E2E_RUN', 'x')}@%h",
    ]
    if beat:
        cmd += ["--beat", "--schedule", str(workdir / "celerybeat-schedule")]
    with log.open("wb") as out:
        popen = subprocess.Popen(cmd, cwd=ROOT, env=_child_env(env), stdout=out,  # noqa: S603
                                 stderr=subprocess.STDOUT)
    proc = Process("worker", popen, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{proc.log_tail()}")
        if " ready." in log.read_text(errors="replace"):
            return proc
        time.sleep(0.2)
    proc.stop()
    raise RuntimeError(f"the worker did not start in time:\n{proc.log_tail()}")


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.2, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll `predicate` until it returns a true value (for work a worker does)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class Stack:
    """A running stack: its processes, base URL, shared environment and database."""

    env: dict[str, str]
    base_url: str
    workdir: Path
    owner_engine: Engine  #: the database as its owner (setting up data, reading results)
    processes: list[Process] = field(default_factory=list)
    _worker: Process | None = None
    _app: Flask | None = None

    @contextmanager
    def app_context(self) -> Iterator[Flask]:
        """The stack's app in this process (same database, broker and keys), to set up data
        through the services or to queue a task as the web would."""
        from harmnet import create_app
        from harmnet.extensions import db

        if self._app is None:
            self._app = create_app(config_from_env(self.env))
        with self._app.app_context():
            try:
                yield self._app
            finally:
                db.session.remove()

    def enqueue(self, task: str, *args: object) -> None:
        """Send a task by name onto the stack's broker (the worker runs it)."""
        with self.app_context() as app:
            app.extensions["celery"].send_task(task, args=args)

    def sql(self, statement: str, **params: object) -> list:
        """Read or set up data directly, as the database owner (not as the app)."""
        with self.owner_engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []

    def worker(self) -> Process:
        """The real Celery worker (with beat), started on first use, kept for the package."""
        if self._worker is None or self._worker.popen.poll() is not None:
            self._worker = start_worker(self.env, self.workdir, beat=True)
            self.processes.append(self._worker)
        return self._worker

    def demo_users_speak(self, lang: str) -> None:
        """The demo logins' saved language (it wins over the sign-in page's, by design)."""
        from .ui import DEMO

        logins = [d.login for d in DEMO.values()]
        placeholders = ", ".join(f":l{i}" for i in range(len(logins)))
        self.sql(f"UPDATE users SET locale = :lang WHERE login IN ({placeholders})",  # noqa: S608
                 lang=lang, **{f"l{i}": v for i, v in enumerate(logins)})

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        if self._app is not None:
            from harmnet.extensions import db

            with self._app.app_context():
                db.engine.dispose()


@contextmanager
def temporary_stack(workdir: Path, database_url: str | None = None,
                    redis_url: str | None = None) -> Iterator[Stack]:
    """A throw-away stack for bench/: a fresh SQLite database in `workdir` (or the given,
    empty, database), migrated and seeded with the demo data, served by gunicorn."""
    from sqlalchemy import create_engine

    url = database_url or f"sqlite:///{workdir / 'bench.sqlite'}"
    env = stack_env(url, url, workdir, redis_url)
    migrate(env)
    seed_demo(env)
    web, base_url = start_web(env, workdir)
    engine = create_engine(url)
    running = Stack(env, base_url, workdir, engine, [web])
    try:
        yield running
    finally:
        running.stop()
        engine.dispose()
