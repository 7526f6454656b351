"""The identity cache (harmnet/identity_cache.py): a signed-in page reads no identity rows
twice, and every change to a login, a membership or a group still shows on the very next
request, in this process and in another one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, inspect, text

from tests.conftest import IsolatedClient, make_config, requires_redis
from tests.support import in_group, login, membership_id, post_form

pytestmark = requires_redis


@pytest.fixture
def other_app(database):  # type: ignore[no-untyped-def]
    """A second app on the same database and Redis: another gunicorn worker."""
    from harmnet import create_app

    def make(**overrides):  # type: ignore[no-untyped-def]
        app = create_app(make_config(database, **overrides))
        app.test_client_class = IsolatedClient
        made.append(app)
        return app

    made: list = []
    yield make
    from harmnet.extensions import db

    for app in made:
        with app.app_context():
            db.engine.dispose()


@contextmanager
def statements(app) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    from harmnet.extensions import db

    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _phone_with_a_kept_copy(app, login_name: str, slug: str):  # type: ignore[no-untyped-def]
    """A client of `app` signed in as `login_name` that has opened the group's home twice:
    the second visit was answered from the identity cache."""
    phone = app.test_client()
    login(phone, login_name)
    for _ in range(2):
        assert phone.get(f"/g/{slug}/").status_code == 200
    return phone


def test_a_repeat_page_reads_no_identity_rows(client, app, make_group, make_user):
    group = make_group()
    make_user("lan", group=group)
    slug, name = group.slug, group.name  # read here: the test's own loads are not counted
    login(client, "lan")
    with statements(app) as first:
        assert client.get(f"/g/{slug}/").status_code == 200
    with statements(app) as second:
        response = client.get(f"/g/{slug}/")
    assert response.status_code == 200 and name in response.get_data(as_text=True)
    assert first, "the first page reads the user, group and membership"
    assert second == []


def test_a_role_change_made_in_another_process_shows_on_the_next_request(
        client, db, make_group, make_user, other_app):
    group = make_group()
    peer = make_user("lan", group=group, role="peer_educator")
    make_user("hoa", group=group, role="coordinator")
    phone = other_app().test_client()
    login(phone, "lan")
    assert "/members/" not in phone.get(f"/g/{group.slug}/").get_data(as_text=True)
    assert "/members/" not in phone.get(f"/g/{group.slug}/").get_data(as_text=True)  # cached

    login(client, "hoa")
    mid = membership_id(db, group.id, peer.id)
    r = post_form(client, f"/g/{group.slug}/logins/{mid}/role",
                  {"role": "coordinator"}, page=f"/g/{group.slug}/logins")
    assert r.status_code == 302

    assert "/members/" in phone.get(f"/g/{group.slug}/").get_data(as_text=True)


def test_a_membership_revoked_in_another_process_takes_effect_at_once(
        client, db, make_group, make_user, other_app):
    group = make_group()
    peer = make_user("lan", group=group, role="peer_educator")
    make_user("hoa", group=group, role="coordinator")
    phone = _phone_with_a_kept_copy(other_app(), "lan", group.slug)

    login(client, "hoa")
    mid = membership_id(db, group.id, peer.id)
    r = post_form(client, f"/g/{group.slug}/logins/{mid}/deactivate",
                  page=f"/g/{group.slug}/logins")
    assert r.status_code == 302

    response = phone.get(f"/g/{group.slug}/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_sign_out_everywhere_in_another_process_ends_the_session(
        client, make_group, make_user, other_app):
    group = make_group()
    make_user("lan", group=group)
    phone = _phone_with_a_kept_copy(other_app(), "lan", group.slug)
    login(client, "lan")
    r = post_form(client, "/account", {"action": "everywhere", "all-confirm": "y"})
    assert r.status_code == 302
    response = phone.get(f"/g/{group.slug}/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_change_made_around_the_app_ends_with_the_expiry(
        client, db, database, make_group, make_user, other_app):
    group = make_group()
    peer = make_user("lan", group=group)
    phone = _phone_with_a_kept_copy(other_app(IDENTITY_CACHE_SECONDS=1), "lan", group.slug)
    # psql, say: no session event, so no epoch moves; the copy ends with its expiry.
    with database.owner_engine.begin() as conn:
        conn.execute(text("UPDATE group_memberships SET is_active = false WHERE user_id = :u"),
                     {"u": peer.id})
    time.sleep(1.1)
    assert phone.get(f"/g/{group.slug}/").status_code == 404


def test_without_redis_every_page_reads_the_database_and_changes_still_commit(
        client, db, make_group, make_user, other_app):
    group = make_group()
    peer = make_user("lan", group=group, role="peer_educator")
    make_user("hoa", group=group, role="coordinator")
    away = other_app(REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    phone, desk = away.test_client(), away.test_client()
    login(phone, "lan")
    assert phone.get(f"/g/{group.slug}/").status_code == 200
    with statements(away) as second:
        assert phone.get(f"/g/{group.slug}/").status_code == 200
    assert second, "no cache without Redis"

    login(desk, "hoa")
    r = post_form(desk, f"/g/{group.slug}/logins/{membership_id(db, group.id, peer.id)}/role",
                  {"role": "coordinator"}, page=f"/g/{group.slug}/logins")
    assert r.status_code == 302
    assert "/members/" in phone.get(f"/g/{group.slug}/").get_data(as_text=True)


def test_cached_rows_are_clean_and_private_to_their_request(app, db, make_group, make_user):
    from harmnet import identity_cache
    from harmnet.models import PeerGroup, User

    group = make_group()
    user = make_user("lan", group=group)
    cache = identity_cache.current()
    key = (user.id, user.session_version, group.slug)
    with app.app_context(), app.test_request_context():  # a request of its own
        cache.put(key, cache.epoch(), (db.session.get(User, user.id),
                                       db.session.get(PeerGroup, group.id), None))
    kept = repr(cache.entries[key])
    assert "password_hash" not in kept and "totp_secret" not in kept
    for _ in range(2):
        with app.app_context(), app.test_request_context():
            found = cache.get(key, db.session())
            assert found is not None
            cached_user, cached_group, _none = found
            assert not db.session.dirty and not inspect(cached_user).modified
            assert cached_group.settings.get("changed-in-place") is None
            cached_group.settings["changed-in-place"] = True  # must not reach the copy
            db.session.rollback()


def test_cached_rows_behave_as_if_a_query_had_loaded_them(app, db, make_group, make_user):
    from harmnet import identity_cache
    from harmnet.models import GroupMembership, PeerGroup, User
    from harmnet.security import verify_password
    from tests.support import PASSWORD

    group = make_group()
    user = make_user("lan", group=group)
    cache = identity_cache.current()
    key = (user.id, user.session_version, group.slug)
    with app.app_context(), app.test_request_context(), in_group(group.id):
        cache.put(key, cache.epoch(), (db.session.get(User, user.id),
                                       db.session.get(PeerGroup, group.id),
                                       db.session.get(GroupMembership,
                                                      membership_id(db, group.id, user.id))))
    with app.app_context(), app.test_request_context():
        cached_user, cached_group, membership = cache.get(key, db.session())
        assert db.session.get(User, user.id) is cached_user  # the one copy of the row
        assert inspect(membership).persistent and membership.role == "peer_educator"
        with statements(app) as seen:
            assert verify_password(cached_user.password_hash, PASSWORD)  # not kept: read
        assert any("password_hash" in s for s in seen)
        cached_user.display_name = "Lan Anh"  # a change to a cached row is saved
        db.session.commit()
    with app.app_context(), app.test_request_context():
        assert cache.get(key, db.session()) is None  # and it ended the copies
        assert db.session.get(User, user.id).display_name == "Lan Anh"


def test_forget_identities_ends_the_copies_after_a_change_made_in_sql(
        client, app, db, database, make_group, make_user, other_app):
    group = make_group()
    peer = make_user("lan", group=group)
    phone = _phone_with_a_kept_copy(other_app(), "lan", group.slug)  # kept 300 s
    with database.owner_engine.begin() as conn:
        conn.execute(text("UPDATE group_memberships SET is_active = false WHERE user_id = :u"),
                     {"u": peer.id})
    result = app.test_cli_runner().invoke(args=["forget-identities"])
    assert result.exit_code == 0 and "next request" in result.output
    assert phone.get(f"/g/{group.slug}/").status_code == 404


def test_a_counter_moved_without_a_message_is_heard_within_a_second(
        client, db, database, make_group, make_user, other_app):
    # An operator's bare INCR (or a lost message) publishes nothing: each process also
    # reads the counter itself once a second.
    import redis

    from harmnet.identity_cache import CHECK_SECONDS, EPOCH_KEY
    from tests.conftest import REDIS_URL

    group = make_group()
    peer = make_user("lan", group=group)
    phone = _phone_with_a_kept_copy(other_app(), "lan", group.slug)
    with database.owner_engine.begin() as conn:
        conn.execute(text("UPDATE group_memberships SET is_active = false WHERE user_id = :u"),
                     {"u": peer.id})
    redis.Redis.from_url(REDIS_URL).incr(EPOCH_KEY)
    time.sleep(CHECK_SECONDS + 0.1)
    assert phone.get(f"/g/{group.slug}/").status_code == 404


def test_after_redis_restarts_no_copy_from_before_is_trusted(
        db, make_group, make_user, other_app, tmp_path, monkeypatch):
    # Redis comes back empty: the counter starts again from nothing and may reach the
    # number a copy was kept under. The process drops its copies when the subscription
    # breaks, reads the database while Redis is away, and caches again once it is back.
    from harmnet import identity_cache
    from tests.reminders.processes import RedisServer, free_port

    monkeypatch.setattr(identity_cache, "RETRY_SECONDS", 0.0)
    server = RedisServer(free_port(6490))
    server.start()
    try:
        group = make_group()
        make_user("lan", group=group)
        app = other_app(REDIS_URL=server.url)
        phone = _phone_with_a_kept_copy(app, "lan", group.slug)
        with statements(app) as kept:
            assert phone.get(f"/g/{group.slug}/").status_code == 200
        assert kept == []

        server.stop()
        with statements(app) as away:
            assert phone.get(f"/g/{group.slug}/").status_code == 200
        assert away, "with Redis away, the page reads the database"
        assert app.extensions["identity_cache"].entries == {}

        server.start()
        with statements(app) as back:
            assert phone.get(f"/g/{group.slug}/").status_code == 200
        assert back, "the first page after the restart reads the rows again"
        with statements(app) as cached:
            assert phone.get(f"/g/{group.slug}/").status_code == 200
        assert cached == [], "and the next one is served from the cache again"
    finally:
        server.stop()
