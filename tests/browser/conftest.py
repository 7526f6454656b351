"""Browser suite fixtures: one Chromium per session, a real stack (gunicorn, and a Celery worker
when a flow needs one) on the test database seeded with the demo data, and `ui`: a fresh
browser context per test, parametrised over language (vi, en) and viewport (phone, desktop)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from tests.conftest import REDIS_URL, TestDatabase, _truncate

from . import stack
from .ui import DEMO, UI, AuditLog

HERE = Path(__file__).resolve().parent
#: Everything the session audited; printed at the end of the run.
AUDIT = AuditLog()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = stack.find_chromium()
    if path is None:
        pytest.skip("browser suite skipped: Chromium not found (install Debian's package: "
                    "apt-get install chromium; .ci/run does this)")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=stack.CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Stack:
    """The running stack of this test package."""

    env: dict[str, str]
    base_url: str
    workdir: Path
    database: TestDatabase
    processes: list[stack.Process] = field(default_factory=list)
    _worker: stack.Process | None = None
    _app: Flask | None = None

    @contextmanager
    def app_context(self) -> Iterator[Flask]:
        """The stack's app in this process (same database, broker and keys), to set up data
        through the services or to queue a task as the web would."""
        from harmnet import create_app
        from harmnet.extensions import db

        if self._app is None:
            self._app = create_app(stack.config_from_env(self.env))
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
        with self.database.owner_engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []

    def worker(self) -> stack.Process:
        """The real Celery worker (with beat), started on first use, kept for the package."""
        if self._worker is None or self._worker.popen.poll() is not None:
            self._worker = stack.start_worker(self.env, self.workdir, beat=True)
            self.processes.append(self._worker)
        return self._worker

    def demo_users_speak(self, lang: str) -> None:
        """The demo logins' saved language (it wins over the sign-in page's, by design)."""
        logins = [d.login for d in DEMO.values()]
        placeholders = ", ".join(f":l{i}" for i in range(len(logins)))
        self.sql(f"UPDATE users SET locale = :lang WHERE login IN ({placeholders})",  # noqa: S608
                 lang=lang, **{f"l{i}": v for i, v in enumerate(logins)})


@pytest.fixture(scope="package")
def e2e(database: TestDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """gunicorn on a free localhost port, serving the demo data from the test database."""
    if stack.find_chromium() is None:
        pytest.skip("browser suite skipped: Chromium not found (apt-get install chromium)")
    workdir = tmp_path_factory.mktemp("e2e")
    env = stack.stack_env(database.app_url, database.owner_url, workdir, REDIS_URL)
    stack.seed_demo(env)
    web, base_url = stack.start_web(env, workdir)
    running = Stack(env, base_url, workdir, database, [web])
    try:
        yield running
    finally:
        for process in reversed(running.processes):
            process.stop()
        if running._app is not None:
            from harmnet.extensions import db

            with running._app.app_context():
                db.engine.dispose()
        _truncate(database)


@pytest.fixture(params=["vi", "en"])
def lang(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=["phone", "desktop"])
def viewport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def ui(browser, e2e: Stack, lang: str, viewport: str) -> Iterator[UI]:  # type: ignore[no-untyped-def]
    """A person with a fresh browser (phone 360x740 or laptop 1280x800) speaking `lang`."""
    e2e.demo_users_speak(lang)
    person = UI(browser, e2e.base_url, lang, viewport, AUDIT)
    try:
        yield person
    finally:
        person.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if not AUDIT.weights:
        return
    write = terminalreporter.write_line
    terminalreporter.section("browser: pages audited and their weight")
    write(f"{len(AUDIT.audited)} page states audited (axe, labels, keyboard, 360 px) "
          f"over {len(AUDIT.routes)} routes")
    write(f"{'route':44} {'lang':4} {'first B':>8} {'repeat B':>8}")
    for (route, lang), w in sorted(AUDIT.weights.items()):
        write(f"{route[:44]:44} {lang:4} {w.first:8d} {w.repeat:8d}")
