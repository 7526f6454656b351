"""Against a real gunicorn, as production runs: a signed-out cookie opens nothing in any
worker process, and sign-in keeps working (and limited) while Redis is down."""

from __future__ import annotations

import http.client
import re
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests import conftest
from tests.browser import stack
from tests.reminders.processes import RedisServer
from tests.support import PASSWORD

pytestmark = pytest.mark.slow

_TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


class Browser:
    """Just enough of a browser: one cookie jar, no redirects followed."""

    def __init__(self, base_url: str) -> None:
        self.netloc = urllib.parse.urlsplit(base_url).netloc
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None,
                ) -> tuple[int, str, str]:
        conn = http.client.HTTPConnection(self.netloc, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return response.status, response.headers.get("Location", ""), text

    def post_form(self, path: str, form: dict, page: str | None = None) -> tuple[int, str, str]:
        _status, _location, html = self.request("GET", page or path)
        token = _TOKEN.search(html)
        assert token, f"no CSRF token on {page or path}"
        return self.request("POST", path, {"csrf_token": token.group(1), **form})

    def sign_in(self, login: str, password: str = PASSWORD) -> int:
        return self.post_form("/login", {"login": login, "password": password})[0]


def _seed(env: dict[str, str]) -> None:
    """A department, a group and its coordinator, made through the services."""
    from harmnet import create_app
    from harmnet.extensions import db
    from harmnet.services import accounts, org

    app = create_app(stack.config_from_env(env))
    with app.app_context():
        org.create_department("hn", "Hà Nội")
        group = org.create_group("song-hong", "Sông Hồng", "peer_group", "hn")
        user = accounts.create_user("lan", "Lan", PASSWORD, locale="en")
        org.grant_group_role(group, user, "coordinator")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


@contextmanager
def _serve(database: conftest.TestDatabase, workdir: Path, redis_url: str | None,
           workers: int) -> Iterator[str]:
    env = stack.stack_env(database.app_url, database.owner_url, workdir, redis_url)
    _seed(env)
    web, base_url = stack.start_web(env, workdir, workers=workers)
    try:
        yield base_url
    finally:
        web.stop()
        conftest._truncate(database)


@pytest.fixture
def two_workers(database: conftest.TestDatabase, tmp_path: Path) -> Iterator[str]:
    with _serve(database, tmp_path, None, workers=2) as base_url:
        yield base_url


def test_a_cookie_saved_before_signing_out_is_refused_by_every_worker(two_workers):
    browser = Browser(two_workers)
    assert browser.sign_in("lan") == 302
    # Enough requests that both worker processes serve some (each pid shows in no page,
    # but 20 requests over two workers leave one idle with probability 2^-19).
    for _ in range(20):
        assert browser.request("GET", "/g/song-hong/contacts/")[0] == 200
    saved = dict(browser.cookies)
    status, location, _html = browser.post_form("/logout", {}, page="/account")
    assert status == 302 and location.endswith("/login")
    thief = Browser(two_workers)
    thief.cookies = saved
    for _ in range(20):
        status, location, _html = thief.request("GET", "/g/song-hong/contacts/")
        assert status == 302 and "/login" in location


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(stack.free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_sign_in_works_and_stays_limited_with_redis_down(database, tmp_path, own_redis):
    # One worker: with Redis down the limits are counted in each process.
    with _serve(database, tmp_path, own_redis.url, workers=1) as base_url:
        browser = Browser(base_url)
        assert browser.sign_in("lan") == 302  # Redis up: the limiter stores its counts there
        own_redis.stop()
        browser = Browser(base_url)
        assert browser.sign_in("lan") == 302  # the right password still signs in
        assert browser.request("GET", "/g/song-hong/")[0] == 200
        statuses = [Browser(base_url).sign_in("lan", f"wrong password {i}") for i in range(11)]
        assert statuses == [200] * 10 + [429]
