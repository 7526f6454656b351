"""Shared helpers of the contact benchmarks: a fresh PostgreSQL database and an app on it.

Bench only: the keys below protect synthetic data and must never be used anywhere real.
"""

from __future__ import annotations

import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/harmnet_contacts_bench"
APP_ROLE = "harmnet_app"
PASSWORD = "bench-pass-2024"
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_KEY = re.compile(r'name="idempotency_key" type="hidden" value="([^"]+)"')


def driver_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def config_for(owner_url: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import make_url

    from config import TestingConfig

    cfg = TestingConfig()
    owner = make_url(driver_url(owner_url))
    cfg.MIGRATION_DATABASE_URL = owner.render_as_string(hide_password=False)
    cfg.SQLALCHEMY_DATABASE_URI = owner.set(username=APP_ROLE, password=None).render_as_string(
        hide_password=False)
    cfg.TESTING = False  # measure the app as it runs, not with test-mode exception handling
    cfg.PSEUDONYM_KEY = "bench-only-pseudonym-key"
    cfg.ENCRYPTION_KEYS = ["YmVuY2gtb25seS1mZXJuZXQta2V5LTAxMjM0NTY3ODk="]
    return cfg


def recreate_database(owner_url: str) -> None:
    """Drop and create the database, migrate it as the owner, grant the app role."""
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, make_url, text

    from harmnet import create_app
    from harmnet.cli import grant_app_role

    owner = make_url(driver_url(owner_url))
    admin = create_engine(owner.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{owner.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{owner.database}"'))
        if not conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE}):
            conn.execute(text(f'CREATE ROLE "{APP_ROLE}" LOGIN NOSUPERUSER NOBYPASSRLS'))
    admin.dispose()
    cfg = config_for(owner_url)
    cfg.SQLALCHEMY_DATABASE_URI = cfg.MIGRATION_DATABASE_URL
    app = create_app(cfg)
    with app.app_context():
        upgrade()
        from harmnet.extensions import db

        db.engine.dispose()
    grant_app_role(owner.render_as_string(hide_password=False), APP_ROLE)


def make_app(owner_url: str):  # type: ignore[no-untyped-def]
    from harmnet import create_app

    return create_app(config_for(owner_url))


def sign_in(client, login: str) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"csrf_token": _TOKEN.search(page).group(1),
                                           "login": login, "password": PASSWORD})
    assert response.status_code == 302, response.status_code


def form_tokens(html: str) -> tuple[str, str]:
    return _TOKEN.search(html).group(1), _KEY.search(html).group(1)


def summary(label: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return (f"{label}: n={len(ms)} median={statistics.median(ms):.1f} ms "
            f"p95={p95:.1f} ms max={ms[-1]:.1f} ms")
