"""Fixtures: a migrated database (PostgreSQL when HARMNET_TEST_DATABASE_URL is set, else
SQLite), the app, a client, factories, and helpers to sign in as a role."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine

from config import TestingConfig

PG_URL = os.environ.get("HARMNET_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("HARMNET_TEST_REDIS_URL")
APP_ROLE = os.environ.get("HARMNET_TEST_APP_ROLE", "harmnet_app")

requires_pg = pytest.mark.skipif(not PG_URL, reason="needs HARMNET_TEST_DATABASE_URL")
requires_redis = pytest.mark.skipif(not REDIS_URL, reason="needs HARMNET_TEST_REDIS_URL")


def _driver(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@dataclass
class TestDatabase:
    """The migrated test database: the owner's URL and the app's (non-owner) URL."""

    owner_url: str
    app_url: str
    owner_engine: Engine

    @property
    def is_postgres(self) -> bool:
        return self.owner_engine.dialect.name == "postgresql"


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    from harmnet import create_app

    cfg = TestingConfig()
    cfg.SQLALCHEMY_DATABASE_URI = url
    cfg.MIGRATION_DATABASE_URL = url
    app = create_app(cfg)
    with app.app_context():
        upgrade()
        from harmnet.extensions import db

        db.engine.dispose()


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    if PG_URL:
        owner = make_url(_driver(PG_URL))
        # One database per pytest run (and per xdist worker, if ever), created fresh.
        name = owner.database or "harmnet_test"
        admin = create_engine(owner.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            # A test database is thrown away: its commits need not wait for the disk.
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        admin.dispose()
        owner_url = owner.render_as_string(hide_password=False)
        _migrate(owner_url)
        from harmnet.cli import grant_app_role

        grant_app_role(owner_url, APP_ROLE)
        app_url = owner.set(username=APP_ROLE, password=None).render_as_string(
            hide_password=False
        )
    else:
        path = Path(tmp_path_factory.mktemp("db")) / "test.sqlite"
        owner_url = app_url = f"sqlite:///{path}"
        _migrate(owner_url)
    engine = create_engine(owner_url)
    yield TestDatabase(owner_url, app_url, engine)
    engine.dispose()


def _truncate(database: TestDatabase) -> None:
    """Empty every table that holds rows, as TRUNCATE of them all did, but faster."""
    from harmnet.extensions import db

    tables = [t.name for t in db.metadata.sorted_tables]
    with database.owner_engine.begin() as conn:
        if database.is_postgres:
            # TRUNCATE makes new files for every table (about 0.5 s a test for ~30 tables);
            # a test writes a few rows to a few tables: find those (one cheap statement) and
            # DELETE their rows. Ids are not restarted: no test may count on their values.
            written = conn.scalars(text(" UNION ALL ".join(
                f"SELECT '{t}' WHERE EXISTS (SELECT FROM {t})" for t in tables))).all()  # noqa: S608 - our own table names
            for table in sorted(written, key=tables.index, reverse=True):  # children first
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - our own table names
        else:
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            for table in reversed(tables):
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - our own table names


def make_config(database: TestDatabase, **overrides: object) -> TestingConfig:
    cfg = TestingConfig()
    cfg.SQLALCHEMY_DATABASE_URI = database.app_url
    cfg.MIGRATION_DATABASE_URL = database.owner_url
    if REDIS_URL:
        cfg.REDIS_URL = REDIS_URL
        cfg.RATELIMIT_STORAGE_URI = REDIS_URL
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


@pytest.fixture
def app_config(database: TestDatabase) -> TestingConfig:
    """The config the `app` fixture uses; override it in a module to change settings."""
    return make_config(database)


@pytest.fixture
def app(database: TestDatabase, app_config: TestingConfig) -> Iterator[Flask]:
    from harmnet import create_app
    from harmnet.extensions import db as _db
    from harmnet.extensions import limiter

    app = create_app(app_config)
    with app.app_context():
        # One limiter serves every app the suite creates: start each test with clean counts.
        limiter.reset()
        yield app
        _db.session.remove()
        _db.engine.dispose()
    _truncate(database)


@pytest.fixture
def db(app: Flask):  # type: ignore[no-untyped-def]
    from harmnet.extensions import db as _db

    return _db


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    Flask reuses an already-pushed app context for a request, and the `app` fixture keeps one
    open for the test body; without this, `g` (the tenant context, Flask-Login's cached user,
    the CSRF token) would leak from one request into the next and hide real bugs.
    The test's own session commits before each request (so the request sees the test's rows)
    and forgets what it loaded after (so the test sees what the request wrote). So read what
    you need from a group-owned object inside `in_group(...)`: outside it, reloading an
    expired object finds no row on PostgreSQL (row-level security), as it should.
    """

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        from harmnet.extensions import db as _db

        _db.session.commit()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        _db.session.expire_all()
        return response


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = IsolatedClient
    return app.test_client()


# --- factories ----------------------------------------------------------------------------


@pytest.fixture
def make_department(db):  # type: ignore[no-untyped-def]
    from harmnet.services import org

    def make(code: str | None = None, name: str | None = None, parent: str | None = None):  # type: ignore[no-untyped-def]
        code = code or f"d-{uuid.uuid4().hex[:6]}"
        department = org.create_department(code, name or f"Department {code}", parent)
        db.session.commit()
        return department

    return make


@pytest.fixture
def make_group(db, make_department):  # type: ignore[no-untyped-def]
    from harmnet.services import org

    def make(slug: str | None = None, department: str | None = None, kind: str = "peer_group",
             name: str | None = None):  # type: ignore[no-untyped-def]
        slug = slug or f"g-{uuid.uuid4().hex[:6]}"
        if department is None:
            department = make_department().code
        group = org.create_group(slug, name or f"Group {slug}", kind, department)
        db.session.commit()
        return group

    return make


@pytest.fixture
def make_user(db):  # type: ignore[no-untyped-def]
    from harmnet.services import accounts, org

    def make(login: str | None = None, *, group=None, role: str | None = None,
             department=None, password: str = PASSWORD, is_admin: bool = False,
             locale: str = "en"):  # type: ignore[no-untyped-def]
        login = login or f"u{uuid.uuid4().hex[:8]}"
        user = accounts.create_user(login, f"Name {login}", password, locale=locale,
                                    is_admin=is_admin)
        if group is not None:
            org.grant_group_role(group, user, role or "peer_educator")
        if department is not None:
            org.grant_department_role(department, user, role or "viewer")
        db.session.commit()
        return user

    return make


from tests.support import PASSWORD, login  # noqa: E402


@pytest.fixture
def login_as(client, make_user, make_group):  # type: ignore[no-untyped-def]
    """Sign the client in with a new user holding `role` in `group` (made if not given)."""

    def sign_in(role: str = "coordinator", group=None, department=None, **kw):  # type: ignore[no-untyped-def]
        if department is not None:
            user = make_user(department=department, role=role, **kw)
        elif role == "admin":
            user = make_user(is_admin=True, **kw)
        else:
            group = group or make_group()
            user = make_user(group=group, role=role, **kw)
        response = login(client, user.login)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user

    return sign_in


@pytest.fixture
def two_groups(make_group, make_user):  # type: ignore[no-untyped-def]
    """Two groups, each with a coordinator and a peer educator: for cross-group tests."""
    a = make_group("group-a")
    b = make_group("group-b")
    users = {
        "a_coord": make_user("a-coord", group=a, role="coordinator"),
        "a_peer": make_user("a-peer", group=a, role="peer_educator"),
        "b_coord": make_user("b-coord", group=b, role="coordinator"),
        "b_peer": make_user("b-peer", group=b, role="peer_educator"),
    }
    return a, b, users
