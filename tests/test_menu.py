"""Each page shows the menu of its own group, role and language."""

from __future__ import annotations

from tests.support import login, post_form


def test_the_menu_follows_role_group_and_language(client, app, make_group, make_user):
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
    assert "/members/" not in pages["peer"]
    assert 'href="/g/song-hong/members/"' in pages["other"]
    assert "/g/hoa-sen/" not in pages["other"]  # nor another group's links

    login(client, "peer")
    assert "My contacts" in client.get("/g/hoa-sen/").get_data(as_text=True)
    post_form(client, "/lang", {"lang": "vi", "next": "/g/hoa-sen/"}, page="/g/hoa-sen/")
    page = client.get("/g/hoa-sen/").get_data(as_text=True)
    assert 'lang="vi"' in page and "My contacts" not in page


def test_labels_follow_the_language_of_each_render(app):
    from flask import render_template_string
    from flask_babel import force_locale

    template = ("{{ _('Sign out') }}|{{ _('%(n)s%% done', n=5) }}|{{ _('50%%') }}|"
                "{{ _('<b>') }}|{{ 'Peer educator'|e }}")
    with app.test_request_context():
        pages = []
        for language in ("en", "vi", "en", "vi"):
            with force_locale(language):
                pages.append(render_template_string(template))
    # As Jinja's own gettext: %-formatted with variables, "%%" -> "%" without,
    # catalogue strings trusted as markup.
    assert pages[0] == "Sign out|5% done|50%|<b>|Peer educator"
    assert pages[1] == "Đăng xuất|5% done|50%|<b>|Peer educator"
    assert pages[2:] == pages[:2]


def test_the_role_shows_in_the_page_language(client, make_group, make_user):
    group = make_group("hoa-sen")
    make_user("peer", group=group, role="peer_educator")
    login(client, "peer")
    for language, role in (("en", "Peer educator"), ("vi", "Đồng đẳng viên"),
                           ("en", "Peer educator")):
        post_form(client, "/lang", {"lang": language, "next": "/g/hoa-sen/"},
                  page="/g/hoa-sen/")
        page = client.get("/g/hoa-sen/").get_data(as_text=True)
        assert f'<p class="muted">{role} · ' in page


def test_every_csrf_token_on_a_page_is_the_sessions_and_works(client, make_group, make_user):
    from tests.support import _TOKEN_RE

    group = make_group("hoa-sen")
    make_user("peer", group=group, role="peer_educator")
    login(client, "peer")
    page = client.get("/g/hoa-sen/").get_data(as_text=True)
    tokens = {next(g for g in m.groups() if g) for m in _TOKEN_RE.finditer(page)}
    assert len(tokens) == 1  # the language form's and the sign-out form's
    response = client.post("/lang", data={"csrf_token": tokens.pop(), "lang": "vi",
                                          "next": "/g/hoa-sen/"})
    assert response.status_code == 302
    assert 'lang="vi"' in client.get("/g/hoa-sen/").get_data(as_text=True)
