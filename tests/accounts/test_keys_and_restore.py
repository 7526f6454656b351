"""Operations: `flask check-keys` and the start-up check catch a wrong key; a pg_dump of the
database restored into a fresh one gives the same snapshots and lets the demo logins in."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, make_url, text

from harmnet import create_app
from harmnet.keys import KeyProblem, check_at_start
from tests.conftest import APP_ROLE, IsolatedClient, make_config
from tests.support import login


def _cli(app, *args):  # type: ignore[no-untyped-def]
    with app.app_context():  # else the runner reuses the test's app context
        return app.test_cli_runner().invoke(args=["check-keys", *args])


def test_check_keys_records_then_passes_then_fails_on_a_wrong_key(app, database):
    first = _cli(app)
    assert first.exit_code == 0 and "Keys match" in first.output
    assert _cli(app).exit_code == 0

    wrong_pseudonym = create_app(make_config(database, PSEUDONYM_KEY="another-key"))
    result = _cli(wrong_pseudonym)
    assert result.exit_code == 1 and "HARMNET_PSEUDONYM_KEY" in result.output

    new_key = Fernet.generate_key().decode()
    lost = create_app(make_config(database, ENCRYPTION_KEYS=[new_key]))
    result = _cli(lost)
    assert result.exit_code == 1 and "HARMNET_ENCRYPTION_KEYS" in result.output

    # Rotating: the new key first, the old one still there to decrypt. Then the sample
    # follows the new key, and only after that may the old key go.
    rotating = create_app(make_config(database, ENCRYPTION_KEYS=[new_key,
                                                                 *app.config["ENCRYPTION_KEYS"]]))
    assert _cli(rotating, "--renew-sample").exit_code == 0
    # (Each app sets the process's keyring when made: make the one-key app again.)
    assert _cli(create_app(make_config(database, ENCRYPTION_KEYS=[new_key]))).exit_code == 0


def test_a_wrong_key_stops_the_start(app, database, monkeypatch):
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    assert _cli(app).exit_code == 0  # recorded
    with pytest.raises(KeyProblem, match="HARMNET_PSEUDONYM_KEY"):
        create_app(make_config(database, PSEUDONYM_KEY="another-key", KEY_CHECK_AT_START=True))
    fine = create_app(make_config(database, KEY_CHECK_AT_START=True))
    check_at_start(fine)  # the right keys start


def test_pg_dump_restores_snapshots_and_demo_logins(app, db, database, client):
    if not database.is_postgres:
        pytest.skip("pg_dump is PostgreSQL's")
    from harmnet.cli import grant_app_role
    from harmnet.keys import check
    from harmnet.seed import run_all

    run_all("demo-pass-2024")
    assert check() == []  # the first start records the keys' fingerprint and sample
    db.session.commit()
    snapshots = "SELECT group_id, period, version, checksum FROM report_snapshots ORDER BY 1, 2, 3"
    with database.owner_engine.connect() as conn:
        before = conn.execute(text(snapshots)).all()
    assert before

    owner = make_url(database.owner_url)
    fresh = f"harmnet_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(owner.set(database="postgres"), isolation_level="AUTOCOMMIT")
    dump = subprocess.run(  # noqa: S603 - the documented backup command (docs/operations.md)
        ["pg_dump", "--format=custom", "--no-owner", "--dbname", _libpq(owner)],
        capture_output=True, check=True).stdout
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{fresh}"'))
    restored_url = owner.set(database=fresh)
    try:
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error",  # noqa: S603
                        "--dbname", _libpq(restored_url)], input=dump, check=True,
                       capture_output=True)
        restored_owner = restored_url.render_as_string(hide_password=False)
        grant_app_role(restored_owner, APP_ROLE)
        restored = create_engine(restored_owner)
        with restored.connect() as conn:
            assert conn.execute(text(snapshots)).all() == before
        restored.dispose()
        cfg = make_config(database)
        cfg.SQLALCHEMY_DATABASE_URI = restored_url.set(username=APP_ROLE).render_as_string(
            hide_password=False)
        cfg.MIGRATION_DATABASE_URL = restored_owner
        again = create_app(cfg)
        again.test_client_class = IsolatedClient  # each request in its own app context
        with again.app_context():
            assert check() == []  # the same keys read the restored database
            for name in ("coord-hoasen", "peer-songhong", "dept-hn", "admin"):
                phone = again.test_client()
                assert login(phone, name, "demo-pass-2024").status_code == 302, name
            from harmnet.extensions import db as restored_db

            restored_db.session.remove()
            restored_db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
        admin.dispose()


def _libpq(url) -> str:  # type: ignore[no-untyped-def]
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
