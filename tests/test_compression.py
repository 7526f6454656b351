"""Compressed bodies kept by their digest (harmnet/compression.py): a kept body is only ever
served for that same page, never for another page, another person, or an older version."""

from __future__ import annotations

import gzip

import brotli

from harmnet.extensions import compress
from harmnet.kept import Kept
from tests.support import login


def _page(browser, url: str, encoding: str = "br") -> str:  # type: ignore[no-untyped-def]
    response = browser.get(url, headers={"Accept-Encoding": encoding})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == encoding
    raw = response.get_data()
    return (brotli.decompress(raw) if encoding == "br" else gzip.decompress(raw)).decode()


def test_a_page_served_again_is_the_same_page_each_time(client, make_group, make_user):
    group = make_group("hoa-sen")
    make_user("peer", group=group, role="peer_educator")
    login(client, "peer")
    plain = client.get("/g/hoa-sen/").get_data(as_text=True)
    assert _page(client, "/g/hoa-sen/") == plain
    kept = len(compress.cache)
    assert kept >= 1
    assert _page(client, "/g/hoa-sen/") == plain  # from the kept body: nothing new kept
    assert len(compress.cache) == kept
    assert _page(client, "/g/hoa-sen/", "gzip") == plain  # each encoding its own


def test_a_kept_body_never_answers_for_another_person_or_an_older_page(
        app, db, client, make_group, make_user):
    group = make_group("hoa-sen")
    make_user("peer", group=group, role="peer_educator")
    make_user("other", group=group, role="peer_educator")
    login(client, "peer")
    assert "Name peer" in _page(client, "/g/hoa-sen/")
    other = app.test_client()
    login(other, "other")
    page = _page(other, "/g/hoa-sen/")
    assert "Name other" in page and "Name peer" not in page

    group.name = "Sen Hồng"  # the page changes: the next one shows it
    db.session.commit()
    page = _page(client, "/g/hoa-sen/")
    assert "Sen Hồng" in page and "Name peer" in page


def test_the_kept_bodies_stay_within_their_budget():
    kept = Kept[bytes](max_bytes=100, max_item_bytes=60)
    kept.set("a", b"x" * 40)
    kept.set("b", b"y" * 40)
    assert kept.get("a") == b"x" * 40  # now the most recently used
    kept.set("c", b"z" * 40)  # over 100 bytes: the least recently used goes
    assert kept.get("b") is None
    assert kept.get("a") == b"x" * 40 and kept.get("c") == b"z" * 40
    kept.set("big", b"w" * 61)  # larger than an item may be: not kept
    assert kept.get("big") is None
    assert len(kept) == 2
