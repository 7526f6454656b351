"""Browser suite fixtures: one Chromium per session, a real stack (gunicorn, and a Celery worker
when a flow needs one) on the test database seeded with the demo data, and `ui`: a fresh
browser context per test, parametrised over language (vi, en) and viewport (phone, desktop)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL, TestDatabase, _truncate

from . import stack
from .ui import UI, AuditLog

HERE = Path(__file__).resolve().parent
#: Everything the session audited; printed at the end of the run.
AUDIT = AuditLog()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the browser tests. Those that take `lang` and `viewport` from the fixtures run
    on the phone, in both languages; the laptop is the nav test's (every page of every
    role at 1280 px, tests/browser/test_field_day.py) and the tests that name it. Running
    every flow on both screens took CI to 19 of its 20 minutes."""
    drop = []
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)
        spec = getattr(item, "callspec", None)
        explicit = any({"lang", "viewport"} & set(_names(m.args[0]))
                       for m in item.iter_markers("parametrize") if m.args)
        if spec is not None and not explicit and spec.params.get("viewport") == "desktop":
            drop.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [item for item in items if item not in drop]


def _names(argnames: str | tuple | list) -> list[str]:
    """A parametrize mark's argument names (given as "a, b" or as a sequence)."""
    if isinstance(argnames, str):
        return [name.strip() for name in argnames.split(",")]
    return [str(name) for name in argnames]


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


@pytest.fixture(scope="package")
def e2e(database: TestDatabase,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[stack.Stack]:
    """gunicorn on a free localhost port, serving the demo data from the test database."""
    if stack.find_chromium() is None:
        pytest.skip("browser suite skipped: Chromium not found (apt-get install chromium)")
    workdir = tmp_path_factory.mktemp("e2e")
    env = stack.stack_env(database.app_url, database.owner_url, workdir, REDIS_URL)
    stack.seed_demo(env)
    web, base_url = stack.start_web(env, workdir)
    running = stack.Stack(env, base_url, workdir, database.owner_engine, [web])
    try:
        yield running
    finally:
        running.stop()
        _truncate(database)


@pytest.fixture(params=["vi", "en"])
def lang(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=["phone", "desktop"])
def viewport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def ui(browser, e2e: stack.Stack, lang: str, viewport: str) -> Iterator[UI]:  # type: ignore[no-untyped-def]
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

