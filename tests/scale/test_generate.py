"""The synthetic data generator makes a migrated, consistent database people can sign in to."""

from __future__ import annotations

import re

import psycopg
import pytest
from sqlalchemy import make_url

from tests.conftest import PG_URL, requires_pg

pytestmark = [requires_pg, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def generated() -> str:
    """A small generated database next to the test database (its name plus `_gen`)."""
    from bench.generate import main

    url = make_url(PG_URL)
    url = url.set(database=f"{url.database}_gen").render_as_string(hide_password=False)
    # main() itself refuses to finish unless the final schema equals the migrated one
    # and every foreign key validates.
    assert main(["--groups", "3", "--contacts", "3000", "--days", "60", "--seed", "7",
                 "--database-url", url]) == 0
    yield url
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def scalar(url: str, sql: str):  # type: ignore[no-untyped-def]
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]


def test_counts_are_what_was_asked(generated: str) -> None:
    assert scalar(generated, "SELECT count(*) FROM contacts") == 3000
    assert scalar(generated, "SELECT count(*) FROM peer_groups") == 3
    assert scalar(generated, "SELECT count(*) FROM referrals") > 100
    assert scalar(generated, "SELECT count(*) FROM appointments") > 20
    # Sequences continue after the explicit ids, so the app can add rows.
    assert scalar(generated, "SELECT nextval('contacts_id_seq')") == 3001


def test_contacts_are_made_by_peer_educators_of_their_own_group(generated: str) -> None:
    assert scalar(generated, """
        SELECT count(*) FROM contacts c WHERE NOT EXISTS (
          SELECT 1 FROM group_memberships m WHERE m.group_id = c.group_id
          AND m.user_id = c.peer_educator_id AND m.role = 'peer_educator')""") == 0


def test_clients_are_pseudonymous_and_consistent(generated: str) -> None:
    pseudonyms = [r[0] for r in psycopg.connect(generated).execute(
        "SELECT pseudonym FROM clients").fetchall()]
    assert pseudonyms and all(re.fullmatch(r"[0-9a-f]{64}", p) for p in pseudonyms)
    assert len(set(pseudonyms)) == len(pseudonyms)
    # A client is first seen on their first contact, never after one.
    assert scalar(generated, """
        SELECT count(*) FROM contacts c JOIN clients k ON k.id = c.client_id
        WHERE c.occurred_on < k.first_contact_on""") == 0
    # Small-group sessions have participants, not a client.
    assert scalar(generated, """SELECT count(*) FROM contacts WHERE channel = 'group_session'
        AND (client_id IS NOT NULL OR participants_count IS NULL)""") == 0


def test_referrals_and_appointments_follow_their_contact(generated: str) -> None:
    assert scalar(generated, """
        SELECT count(*) FROM referrals r JOIN contacts c ON c.id = r.contact_id
        WHERE r.client_id IS DISTINCT FROM c.client_id OR r.referred_on <> c.occurred_on
        OR (r.status = 'completed') <> (r.completed_on IS NOT NULL)
        OR r.completed_on < r.referred_on""") == 0
    assert scalar(generated, """
        SELECT count(*) FROM appointments a JOIN referrals r ON r.id = a.referral_id
        WHERE a.scheduled_at::date < r.referred_on
        OR (a.status = 'scheduled' AND a.scheduled_at < now() - interval '1 hour')
        OR (a.status <> 'scheduled' AND a.scheduled_at > now())""") == 0
    # Contact values are kept (encrypted) only for appointments still to come.
    assert scalar(generated, """SELECT count(*) FROM appointments
        WHERE contact_value IS NOT NULL AND (scheduled_at < now() OR NOT reminder_consent)""") == 0


def test_encrypted_values_open_with_the_bench_key(generated: str) -> None:
    from cryptography.fernet import Fernet

    from bench.settings import fernet_key

    phone = scalar(generated, "SELECT phone FROM members WHERE phone IS NOT NULL LIMIT 1")
    assert re.fullmatch(r"09\d{8}", Fernet(fernet_key()).decrypt(phone.encode()).decode())


def test_a_generated_peer_educator_signs_in_and_sees_the_group_home(generated: str,
                                                                    tmp_path) -> None:
    """Through the app, as the non-owner role, so row-level security applies."""
    from bench.settings import PASSWORD, app_url
    from config import TestingConfig
    from harmnet import create_app
    from harmnet.extensions import db
    from tests.support import login

    cfg = TestingConfig()
    cfg.SQLALCHEMY_DATABASE_URI = app_url(generated).replace(
        "postgresql://", "postgresql+psycopg://", 1)
    app = create_app(cfg)
    try:
        client = app.test_client()
        response = login(client, "peer-0001-01", PASSWORD)
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/g/hoa-sen-0001/")
        home = client.get("/g/hoa-sen-0001/")
        assert home.status_code == 200
        assert "Hoa Sen 1" in home.get_data(as_text=True)
        # Another group's home stays hidden.
        assert client.get("/g/song-hong-0002/").status_code == 404
    finally:
        with app.app_context():
            db.engine.dispose()
