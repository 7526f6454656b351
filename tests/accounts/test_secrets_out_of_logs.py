"""One-time tokens never reach a log: gunicorn (with the Procfile's access format), Flask."""

from __future__ import annotations

import logging
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harmnet.redact import redact
from harmnet.services import accounts
from tests.browser import stack
from tests.conftest import REDIS_URL
from tests.support import in_group

ROOT = Path(__file__).resolve().parents[2]


def _procfile_access_format() -> str:
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    args = shlex.split(line[len("web:"):])
    return args[args.index("--access-logformat") + 1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - our localhost server
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_gunicorn_logs_carry_no_invitation_or_reset_token(app, db, database, make_group,
                                                          make_user, tmp_path):
    group = make_group("hoa-sen")
    coord = make_user("coord", group=group, role="coordinator")
    with in_group(group.id):
        live = accounts.invite(group.id, "peer_educator", "Lan", invited_by=coord.id).token
        db.session.commit()
    env = stack.stack_env(database.app_url, database.owner_url, tmp_path, REDIS_URL)
    port = stack.free_port()
    log = tmp_path / "web.log"
    cmd = [str(Path(sys.executable).with_name("gunicorn")), "--bind", f"127.0.0.1:{port}",
           "--workers", "1", "--access-logfile", "-", "--error-logfile", "-",
           "--access-logformat", _procfile_access_format(), "tests.browser.e2e_app:app"]
    with log.open("wb") as out:
        server = subprocess.Popen(cmd, cwd=ROOT, env=stack._child_env(env), stdout=out,  # noqa: S603
                                  stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if _get(base + "/healthz") == 200:
                    break
            except OSError:
                time.sleep(0.2)
        dead = "x" * 43
        assert _get(f"{base}/invite/{live}") == 200
        assert _get(f"{base}/invite/{dead}") == 404
        assert _get(f"{base}/reset/{dead}") == 404
        assert _get(f"{base}/login?next=%2Finvite%2F{live}") == 200
    finally:
        server.terminate()
        server.wait(timeout=15)
    text = log.read_text()
    assert "/invite/[redacted]" in text  # the requests were logged, without their tokens
    assert live not in text and dead not in text


def test_flask_error_line_is_redacted(app, caplog):
    token = "A" * 43
    with caplog.at_level(logging.ERROR):
        logging.getLogger("harmnet.test").error("Exception on %s [%s]", f"/reset/{token}", "GET")
    assert token not in caplog.text
    assert "/reset/[redacted]" in caplog.text


@pytest.mark.parametrize("text", ["/g/hoa-sen/contacts/12", "/invite/short", "/login"])
def test_ordinary_paths_are_left_alone(text):
    assert redact(text) == text
