"""Key rotation: after `flask members rotate-phones`, only the newest key is needed."""

from __future__ import annotations

from cryptography.fernet import Fernet
from sqlalchemy import text

from tests.conftest import make_config


def test_rotate_phones_re_encrypts_under_the_new_key(database, make_group, add_member, db,
                                                     app):
    from harmnet import create_app

    group = make_group("hoa-sen")
    old_key = app.config["ENCRYPTION_KEYS"][0]
    add_member(group, "Hoa", phone="0912345678")
    new_key = Fernet.generate_key().decode()
    rotated = create_app(make_config(database, ENCRYPTION_KEYS=[new_key, old_key]))
    result = rotated.test_cli_runner().invoke(args=["members", "rotate-phones"])
    assert "1 phone numbers re-encrypted." in result.output, result.output
    with database.owner_engine.connect() as conn:
        raw = conn.execute(text("SELECT phone FROM members")).scalar()
    assert Fernet(new_key).decrypt(raw.encode()).decode() == "0912345678"
