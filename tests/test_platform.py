"""Platform: migrations match models, translations complete, headers, health, CLI, errors."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from babel.messages.pofile import read_po
from sqlalchemy import create_engine, select

from harmnet.models import Department, PeerGroup, User
from tests.support import login

ROOT = Path(__file__).resolve().parent.parent


def test_models_and_migrations_agree(app, database):
    from harmnet.extensions import db

    engine = create_engine(database.owner_url)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata
        )
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_every_message_has_a_vietnamese_translation():
    path = ROOT / "harmnet/translations/vi/LC_MESSAGES/messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh)
    empty = [m.id for m in catalog if m.id and not (
        all(m.string) if isinstance(m.string, tuple) else m.string)]
    assert empty == [], f"untranslated: {empty[:20]}"


def test_catalogue_covers_every_string_in_the_code(tmp_path):
    """Extracting the sources again finds no msgid missing from the catalogue."""
    import subprocess
    import sys

    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), "harmnet", "templates", "worker"],
        cwd=ROOT, check=True, capture_output=True,
    )
    with pot.open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    with (ROOT / "harmnet/translations/vi/LC_MESSAGES/messages.po").open("rb") as fh:
        have = {m.id for m in read_po(fh) if m.id}
    assert sorted(wanted - have) == []


def test_security_headers_and_no_store(client, make_user, make_group):
    response = client.get("/login")
    h = response.headers
    assert "default-src 'self'" in h["Content-Security-Policy"]
    assert "unsafe-inline" not in h["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "no-referrer"
    assert h["X-Frame-Options"] == "DENY"  # old phone browsers ignore frame-ancestors
    assert "camera=()" in h["Permissions-Policy"]
    group = make_group()
    make_user("lan", group=group)
    login(client, "lan")
    page = client.get(f"/g/{group.slug}/").headers
    assert page["Cache-Control"] == "no-store"
    assert "Cookie" in page["Vary"]  # a shared cache must not mix people's pages
    for name in ("Content-Security-Policy", "X-Frame-Options", "Vary"):
        assert len(page.getlist(name)) == 1, name  # sent once, not once per hook


def test_static_files_are_cacheable_with_a_content_hash(client):
    html = client.get("/login").get_data(as_text=True)
    start = html.index("/static/app.css?v=")
    url = html[start:html.index('"', start)]
    response = client.get(url)
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]


def test_no_state_change_on_get(app):
    """Every route that changes state accepts POST only (GET is safe)."""
    unsafe_words = ("logout", "deactivate", "reactivate", "revoke", "role", "lang")
    for rule in app.url_map.iter_rules():
        if any(w in rule.rule for w in unsafe_words):
            assert "GET" not in rule.methods, rule.rule


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": "ok", "broker": "ok"}


def test_readyz_reports_an_unreachable_broker(database):
    from harmnet import create_app
    from tests.conftest import make_config

    cfg = make_config(database)
    cfg.CELERY = dict(cfg.CELERY, broker_url="redis://127.0.0.1:1/0", task_always_eager=False)
    app = create_app(cfg)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["broker"] == "unreachable"


def test_error_pages_in_both_languages(client, make_user):
    assert "Không tìm thấy" in client.get("/nowhere").get_data(as_text=True)
    make_user("lan", locale="en")
    login(client, "lan")
    response = client.get("/nowhere")
    assert response.status_code == 404 and "Not found" in response.get_data(as_text=True)


def test_language_switch_for_visitors(client):
    from tests.support import post_form

    r = post_form(client, "/lang", {"lang": "en", "next": "/login"}, page="/login")
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    assert "Sign in" in client.get("/login").get_data(as_text=True)
    r = post_form(client, "/lang", {"lang": "en", "next": "https://evil.example/"}, page="/login")
    assert r.headers["Location"] == "/"


def test_cli_creates_departments_groups_users_and_grants(app, db):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["create-department", "hn", "Hà Nội"]).exit_code == 0
    result = runner.invoke(args=["create-department", "hn-bd", "Ba Đình", "--parent", "hn"])
    assert result.exit_code == 0
    result = runner.invoke(args=["create-group", "hoa-sen", "CLB Hoa Sen", "--department",
                                 "hn-bd", "--kind", "club", "--year-starts", "4"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["create-group", "x-y", "X", "--department", "hn",
                                 "--year-starts", "13"])
    assert result.exit_code != 0
    result = runner.invoke(args=["create-user", "lan"], input="a long secret 1\na long secret 1\n")
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["create-user", "weak"], input="password1\npassword1\n")
    assert result.exit_code != 0 and "password rejected" in result.output
    assert runner.invoke(args=["grant", "lan", "coordinator", "--group", "hoa-sen"]).exit_code == 0
    assert runner.invoke(args=["grant", "lan", "viewer", "--department", "hn"]).exit_code == 0
    assert runner.invoke(args=["grant", "lan", "viewer", "--department", "nope"]).exit_code != 0
    child = db.session.scalar(select(Department).where(Department.code == "hn-bd"))
    assert child.parent_id is not None
    assert db.session.scalar(select(PeerGroup.kind).where(PeerGroup.slug == "hoa-sen")) == "club"
    assert db.session.scalar(select(PeerGroup.fiscal_year_start_month)
                             .where(PeerGroup.slug == "hoa-sen")) == 4


def test_seed_demo_is_idempotent_and_its_logins_work(app, db, client):
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
    logins = set(db.session.scalars(select(User.login)))
    assert {"coord-hoasen", "peer-hoasen", "coord-songhong", "peer-songhong", "dept-hn",
            "admin"} <= logins
    assert login(client, "coord-hoasen", "demo-pass-2024").headers["Location"].endswith(
        "/g/hoa-sen/")
    client.get("/")
    from tests.support import post_form

    post_form(client, "/logout", page="/account")
    assert login(client, "dept-hn", "demo-pass-2024").headers["Location"].endswith("/d/hn/")


def test_production_config_refuses_to_start_without_secrets(monkeypatch):
    import pytest

    from config import ConfigError, ProductionConfig

    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "HARMNET_ENCRYPTION_KEYS",
                 "HARMNET_PSEUDONYM_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        ProductionConfig()
