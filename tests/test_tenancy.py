"""The three tenancy locks: URL (404), ORM filter (raises without a group), PostgreSQL RLS."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from harmnet import tenancy
from harmnet.models import GroupMembership, Member
from tests.conftest import requires_pg
from tests.support import in_group, login


def test_group_scoped_query_without_group_raises(db, make_group):
    make_group()
    with pytest.raises(tenancy.TenancyError):
        db.session.scalars(select(Member)).all()


def test_orm_filter_returns_only_current_group_rows(db, make_group):
    a, b = make_group(), make_group()
    with in_group(a.id):
        db.session.add(Member(group_id=a.id, alias="Hoa"))
        db.session.commit()
    with in_group(b.id):
        db.session.add(Member(group_id=b.id, alias="Lan"))
        db.session.commit()
    with in_group(a.id):
        assert [m.alias for m in db.session.scalars(select(Member))] == ["Hoa"]
    with in_group(b.id):
        assert [m.alias for m in db.session.scalars(select(Member))] == ["Lan"]


def test_orm_filter_also_guards_updates_and_deletes(db, make_group):
    from sqlalchemy import delete, update

    a, b = make_group(), make_group()
    with in_group(b.id):
        db.session.add(Member(group_id=b.id, alias="Lan"))
        db.session.commit()
    with in_group(a.id):
        db.session.execute(update(Member).values(alias="changed"))
        db.session.execute(delete(Member))
        db.session.commit()
    with in_group(b.id):
        assert db.session.scalars(select(Member.alias)).all() == ["Lan"]


def test_cross_group_url_is_404(client, two_groups):
    a, b, users = two_groups
    login(client, users["a_coord"].login)
    assert client.get(f"/g/{a.slug}/").status_code == 200
    for path in ("/", "/logins", "/logins/invite"):
        assert client.get(f"/g/{b.slug}{path}").status_code == 404
    assert client.get("/g/no-such-group/").status_code == 404


def test_cross_group_membership_ids_are_404(client, db, two_groups):
    a, b, users = two_groups
    with in_group(b.id):
        b_membership = db.session.scalar(
            select(GroupMembership).where(GroupMembership.user_id == users["b_peer"].id)
        )
        target_id = b_membership.id
    login(client, users["a_coord"].login)
    from tests.support import post_form

    page = f"/g/{a.slug}/logins"
    for action in ("deactivate", "reactivate"):
        r = post_form(client, f"/g/{a.slug}/logins/{target_id}/{action}", page=page)
        assert r.status_code == 404
    r = post_form(client, f"/g/{a.slug}/logins/{target_id}/role", {"role": "coordinator"},
                  page=page)
    assert r.status_code == 404
    with in_group(b.id):
        db.session.expire_all()
        again = db.session.get(GroupMembership, target_id)
        assert again.is_active and again.role == "peer_educator"


def test_peer_educator_gets_403_on_coordinator_pages(client, login_as):
    user = login_as("peer_educator")
    from harmnet.extensions import db
    from harmnet.services.accounts import user_places

    slug = user_places(db.session.merge(user))[0][0][0]
    assert client.get(f"/g/{slug}/").status_code == 200
    assert client.get(f"/g/{slug}/logins").status_code == 403
    assert client.get(f"/g/{slug}/logins/invite").status_code == 403


def test_signed_out_visitor_is_sent_to_login(client, make_group):
    group = make_group()
    response = client.get(f"/g/{group.slug}/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --- PostgreSQL row-level security -------------------------------------------------------


@pytest.fixture
def app_engine(database):
    engine = create_engine(database.app_url)
    yield engine
    engine.dispose()


@requires_pg
def test_every_group_owned_table_has_forced_rls(app, database):
    tables = tenancy.group_scoped_tables()
    assert "members" in tables and "contacts" in tables
    with database.owner_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                 "WHERE relname = ANY(:t)"),
            {"t": tables},
        ).all()
    assert {r.relname for r in rows} == set(tables)
    assert all(r.relrowsecurity and r.relforcerowsecurity for r in rows), rows


@requires_pg
def test_app_role_is_neither_owner_nor_superuser(app, app_engine):
    with app_engine.connect() as conn:
        role = conn.execute(text(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )).one()
        owners = conn.scalars(text(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        )).all()
        me = conn.scalar(text("SELECT current_user"))
    assert not role.rolsuper and not role.rolbypassrls
    assert me not in owners


@requires_pg
def test_raw_select_without_group_returns_no_rows(db, make_group, app_engine):
    group = make_group()
    with in_group(group.id):
        db.session.add(Member(group_id=group.id, alias="Hoa"))
        db.session.commit()
    with app_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM members")) == 0
        conn.rollback()
        conn.execute(text("SELECT set_config('harmnet.group_id', :g, true)"),
                     {"g": str(group.id)})
        assert conn.scalar(text("SELECT count(*) FROM members")) == 1
        conn.commit()
        # The setting ended with its transaction: a reused connection now holds '' (not
        # NULL), which NULLIF turns into "no group", so again no rows.
        assert conn.scalar(text("SELECT current_setting('harmnet.group_id', true)")) == ""
        assert conn.scalar(text("SELECT count(*) FROM members")) == 0


@requires_pg
def test_insert_into_another_group_is_refused(db, make_group, app_engine):
    a, b = make_group(), make_group()
    with app_engine.connect() as conn, pytest.raises(DBAPIError):
        conn.execute(text("SELECT set_config('harmnet.group_id', :g, true)"), {"g": str(a.id)})
        conn.execute(
            text("INSERT INTO members (group_id, alias, role_in_group, status, notes,"
                 " reminder_consent, created_at, updated_at)"
                 " VALUES (:b, 'x', 'volunteer', 'active', '', false, now(), now())"),
            {"b": b.id},
        )


@requires_pg
def test_text_sql_through_the_session_is_still_fenced(db, make_group):
    a, b = make_group(), make_group()
    with in_group(b.id):
        db.session.add(Member(group_id=b.id, alias="Lan"))
        db.session.commit()
    with in_group(a.id):
        # text() bypasses the ORM filter; row-level security is the backstop.
        assert db.session.scalar(text("SELECT count(*) FROM members")) == 0
    db.session.rollback()


@requires_pg
def test_composite_foreign_key_refuses_cross_group_reference(db, make_group, database):
    from harmnet.models import Attendance, Training
    from harmnet.models._types import utcnow

    a, b = make_group(), make_group()
    with in_group(b.id):
        member = Member(group_id=b.id, alias="Lan")
        db.session.add(member)
        db.session.commit()
        member_id = member.id
    with in_group(a.id):
        training = Training(group_id=a.id, title="t", topic="first_aid", starts_at=utcnow())
        db.session.add(training)
        db.session.commit()
        db.session.add(Attendance(group_id=a.id, training_id=training.id, member_id=member_id))
        with pytest.raises(DBAPIError):
            db.session.commit()
        db.session.rollback()


# --- the context is checked on every request and sent before every statement ---------------


def test_revoked_membership_or_closed_group_is_404_on_next_request(client, db, two_groups):
    from harmnet.models import PeerGroup
    from harmnet.services import org

    a, b, users = two_groups
    org.grant_group_role(b, users["a_peer"], "peer_educator")
    db.session.commit()
    login(client, users["a_peer"].login)
    assert client.get(f"/g/{a.slug}/").status_code == 200
    with in_group(a.id):
        membership = db.session.scalar(
            select(GroupMembership).where(GroupMembership.user_id == users["a_peer"].id))
        membership.is_active = False
        db.session.commit()
    assert client.get(f"/g/{a.slug}/").status_code == 404
    assert client.get(f"/g/{b.slug}/").status_code == 200
    db.session.get(PeerGroup, b.id).is_active = False
    db.session.commit()
    assert client.get(f"/g/{b.slug}/").status_code == 404


@requires_pg
def test_refused_session_leaves_no_user_in_the_database_context(app, db, make_user):
    from flask import session

    from harmnet.access import SESSION_KEY, load_user
    from harmnet.services import sessions

    user = make_user()
    token = sessions.start(user.id, None)
    db.session.commit()
    with app.test_request_context():
        session[SESSION_KEY] = token
        assert load_user(f"{user.id}:{user.session_version + 1}") is None  # signed out
        assert tenancy._get("user_id") is None
        # Never set on this connection (NULL), or set by an earlier transaction ('').
        assert db.session.scalar(text("SELECT current_setting('harmnet.user_id', true)")) \
            in (None, "")
        db.session.rollback()
        assert load_user(f"{user.id}:{user.session_version}").id == user.id
        assert db.session.scalar(text("SELECT current_setting('harmnet.user_id', true)")) \
            == str(user.id)
        db.session.rollback()


def _members_of(group, alias):  # type: ignore[no-untyped-def]
    from harmnet.extensions import db

    with in_group(group.id):
        db.session.add(Member(group_id=group.id, alias=alias))
        db.session.commit()


@requires_pg
def test_rls_follows_a_group_switch_mid_transaction(db, make_group):
    a, b = make_group(), make_group()
    _members_of(a, "Hoa")
    _members_of(b, "Lan")
    count = "SELECT string_agg(alias, ',') FROM members"
    with in_group(a.id):
        assert db.session.scalar(text(count)) == "Hoa"
        with in_group(b.id):  # same transaction, no query in between the switch and this
            assert db.session.scalar(text(count)) == "Lan"
        assert db.session.scalar(text(count)) == "Hoa"
    assert db.session.scalar(text(count)) is None  # back to no group: no rows
    db.session.rollback()


@requires_pg
def test_rls_context_is_resent_after_a_savepoint_rollback(db, make_group):
    a, b = make_group(), make_group()
    _members_of(a, "Hoa")
    _members_of(b, "Lan")
    count = "SELECT string_agg(alias, ',') FROM members"
    with in_group(a.id):
        assert db.session.scalar(text(count)) == "Hoa"
        savepoint = db.session.begin_nested()
        with in_group(b.id):
            assert db.session.scalar(text(count)) == "Lan"
            # Rolling back undoes the set_config made inside the savepoint (PostgreSQL
            # restores group a); the next statement must send group b again.
            savepoint.rollback()
            assert db.session.scalar(text(count)) == "Lan"
        assert db.session.scalar(text(count)) == "Hoa"
    db.session.rollback()


@requires_pg
def test_group_page_sends_the_context_once(client, login_as, make_group, monkeypatch):
    sent = []
    real = tenancy._send
    monkeypatch.setattr(tenancy, "_send", lambda conn, values: (sent.append(values),
                                                                 real(conn, values)))
    group = make_group()
    user = login_as("peer_educator", group=group)
    path, user_id = f"/g/{group.slug}/", str(user.id)
    sent.clear()
    statements = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    # The user and their session are read under no context (neither table is
    # group-owned), the group and membership under the user's: one set_config ...
    # (group, user, lookup, departments, platform, reports)
    assert sent == [("", user_id, "", "", "", "")]
    # ... and two statements: the user with the session, the group with the membership.
    assert len(statements) == 2


def test_group_is_entered_when_the_user_was_loaded_first(app, db, two_groups):
    from flask import g
    from flask_login import login_user
    from werkzeug.exceptions import NotFound

    from harmnet.access import enter_group

    a, b, users = two_groups
    user = users["a_peer"]
    for slug, allowed in ((a.slug, True), (b.slug, False)):
        with app.app_context(), app.test_request_context():  # a fresh g each time
            login_user(user)  # current_user is set: the loader will not run
            if allowed:
                enter_group(slug)
                assert g.group.id == a.id and g.membership.user_id == user.id
                assert tenancy.current_group_id() == a.id
            else:
                with pytest.raises(NotFound):
                    enter_group(slug)
                assert tenancy.current_group_id() is None
            db.session.rollback()
