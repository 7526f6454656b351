"""Shared bench helpers: a fresh PostgreSQL database migrated as owner, an app as harmnet_app."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import TestingConfig  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/harmnet_members_bench"
APP_ROLE = os.environ.get("HARMNET_BENCH_APP_ROLE", "harmnet_app")


def driver(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def fresh_database(url: str) -> tuple[str, str]:
    """Drop and recreate the database, migrate it, grant the app role; return both URLs."""
    from flask_migrate import upgrade

    from harmnet import create_app
    from harmnet.cli import grant_app_role

    owner = make_url(driver(url))
    admin = create_engine(owner.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{owner.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{owner.database}"'))
    admin.dispose()
    owner_url = owner.render_as_string(hide_password=False)
    cfg = TestingConfig()
    cfg.SQLALCHEMY_DATABASE_URI = owner_url
    app = create_app(cfg)
    with app.app_context():
        upgrade()
        from harmnet.extensions import db

        db.engine.dispose()
    grant_app_role(owner_url, APP_ROLE)
    app_url = owner.set(username=APP_ROLE, password=None).render_as_string(hide_password=False)
    return owner_url, app_url


def make_app(app_url: str, encryption_keys: list[str] | None = None, **extra: object):  # type: ignore[no-untyped-def]
    from harmnet import create_app

    cfg = TestingConfig()
    cfg.SQLALCHEMY_DATABASE_URI = app_url
    cfg.WTF_CSRF_ENABLED = False  # the bench times pages, not the CSRF check
    if encryption_keys:
        cfg.ENCRYPTION_KEYS = encryption_keys
    for key, value in extra.items():
        setattr(cfg, key, value)
    return create_app(cfg)


def sign_in(client, login: str, password: str) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/login", data={"login": login, "password": password})
    assert response.status_code == 302, response.status_code


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    return match.group(1) if match else ""
