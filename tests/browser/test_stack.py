"""The stack itself: gunicorn serves the demo data, the real worker runs queued tasks, and
static files travel compressed and cached for a year under content-hashed names."""

from __future__ import annotations

import re
import urllib.request
from datetime import timedelta

import pytest

from .stack import wait_for


def test_the_worker_runs_a_task_queued_on_the_real_broker(e2e):
    from harmnet import tenancy
    from harmnet.extensions import db
    from harmnet.models import PeerGroup
    from harmnet.models._types import utcnow
    from harmnet.services import accounts

    with e2e.app_context():
        group_id = db.session.scalar(db.select(PeerGroup.id).where(PeerGroup.slug == "hoa-sen"))
        with tenancy.group_context(group_id):
            created = accounts.invite(group_id, "peer_educator", "cũ", invited_by=None)
            created.invitation.expires_at = utcnow() - timedelta(days=3)
            invitation_id = created.invitation.id
            db.session.commit()

    e2e.worker()
    e2e.enqueue("worker.tasks.maintenance.purge_expired_invitations")

    wait_for(lambda: not e2e.sql("SELECT id FROM invitations WHERE id = :i", i=invitation_id),
             timeout=30, what="the worker to purge the expired invitation")


def _get(url: str, **headers: str):  # type: ignore[no-untyped-def]
    # Our own server on localhost.
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    return urllib.request.urlopen(request, timeout=10)  # noqa: S310


def test_static_files_are_compressed_and_cached_under_their_content_hash(e2e):
    page = _get(e2e.base_url + "/login", **{"Accept-Encoding": "identity"}).read().decode()
    css = re.search(r'href="(/static/app\.css\?v=[0-9a-f]{12})"', page)
    assert css, "the stylesheet URL carries a content hash"

    hashed = _get(e2e.base_url + css.group(1), **{"Accept-Encoding": "gzip, deflate, br"})
    assert hashed.headers["Content-Encoding"] in ("br", "deflate", "gzip")
    cache = hashed.headers["Cache-Control"]
    assert "max-age=31536000" in cache and "immutable" in cache and "public" in cache

    # The same file without its hash may change under the same URL: revalidate it.
    plain = _get(e2e.base_url + "/static/app.css")
    assert "no-cache" in plain.headers["Cache-Control"]
    assert plain.headers["ETag"]

    # Pages hold personal data: never stored by a browser or a proxy.
    assert _get(e2e.base_url + "/login").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(("lang", "viewport"), [("vi", "phone")])
def test_a_signed_in_page_fetches_its_stylesheet_without_a_session_cookie(ui):
    """A public, year-long cached response must never carry the session cookie: a shared
    cache (a proxy, a CDN) would hand it to the next person."""
    ui.sign_in("peer_educator")
    css = ui.page.locator("link[rel=stylesheet]").get_attribute("href")
    response = ui.page.request.get(css)
    assert response.ok
    headers = response.headers
    assert "public" in headers["cache-control"]
    assert "set-cookie" not in headers
    assert "cookie" not in headers.get("vary", "").lower()
