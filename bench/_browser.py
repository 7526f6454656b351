"""Shared by the browser benches: a throw-away demo stack and Debian's Chromium."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.browser import stack  # noqa: E402
from tests.browser.ui import UI, AuditLog  # noqa: E402


@contextmanager
def demo_stack(database_url: str | None = None) -> Iterator[stack.Stack]:
    with tempfile.TemporaryDirectory(prefix="harmnet-bench-") as tmp, \
            stack.temporary_stack(Path(tmp), database_url) as running:
        yield running


@contextmanager
def chromium():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    path = stack.find_chromium()
    if path is None:
        raise SystemExit("Chromium not found: apt-get install chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=stack.CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def person(browser, running: stack.Stack, lang: str, viewport: str = "phone") -> UI:  # type: ignore[no-untyped-def]
    """A browser context that drives pages without auditing them."""
    running.demo_users_speak(lang)
    return UI(browser, running.base_url, lang, viewport, AuditLog(), audits=False)
