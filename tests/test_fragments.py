"""Fragments rendered once and kept (web.py `fragment`) and memoized `url_for`: each page
still shows the menu of its own group, role and language."""

from __future__ import annotations

from tests.support import login, post_form


def test_the_kept_menu_follows_role_group_and_language(client, app, make_group, make_user):
    a, b = make_group("hoa-sen"), make_group("song-hong")
    make_user("coord", group=a, role="coordinator")
    make_user("peer", group=a, role="peer_educator")
    make_user("other", group=b, role="coordinator")
    pages = {}
    for who, slug in (("coord", "hoa-sen"), ("peer", "hoa-sen"), ("other", "song-hong")):
        browser = app.test_client()  # an IsolatedClient, like `client`
        login(browser, who)
        pages[who] = browser.get(f"/g/{slug}/").get_data(as_text=True)
    assert 'href="/g/hoa-sen/members/"' in pages["coord"]
    assert "/members/" not in pages["peer"]  # the coordinator's menu was not reused
    assert 'href="/g/song-hong/members/"' in pages["other"]
    assert "/g/hoa-sen/" not in pages["other"]  # nor another group's links

    login(client, "peer")
    assert "My contacts" in client.get("/g/hoa-sen/").get_data(as_text=True)
    post_form(client, "/lang", {"lang": "vi", "next": "/g/hoa-sen/"}, page="/g/hoa-sen/")
    page = client.get("/g/hoa-sen/").get_data(as_text=True)
    assert 'lang="vi"' in page and "My contacts" not in page
