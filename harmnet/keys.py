"""Key checks: the configured keys must be the ones the database was started with.

A wrong pseudonym key does not fail loudly: every returning client simply stops being
recognised. A wrong encryption key leaves phones and contact values unreadable. So the
first start records the pseudonym key's fingerprint and a sample encrypted under the
encryption keys, and every start of the web and the worker (and `flask check-keys`)
compares, stopping with a clear message on a mismatch.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os

from cryptography.fernet import InvalidToken
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .models import KeyCheck
from .security import decrypt, encrypt

log = logging.getLogger(__name__)

_FINGERPRINT_INPUT = b"harmnet pseudonym key fingerprint v1"
_SAMPLE = "harmnet encryption key check v1"

PSEUDONYM_WRONG = (
    "HARMNET_PSEUDONYM_KEY is not the key this database was started with: returning "
    "clients would not be recognised. Put the original key back (see docs/operations.md).")
ENCRYPTION_WRONG = (
    "None of HARMNET_ENCRYPTION_KEYS decrypts the stored sample: member phones and "
    "appointment contact values could not be read. Put the original key back, as a later "
    "key if you are rotating (see docs/operations.md).")


class KeyProblem(RuntimeError):
    """The configured keys do not match the database."""


def fingerprint(secret: str | bytes) -> str:
    """An HMAC of a fixed text under the pseudonym key: tells keys apart, reveals none."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, _FINGERPRINT_INPUT, hashlib.sha256).hexdigest()


def check(*, renew_sample: bool = False) -> list[str]:
    """Compare the keys with what the database recorded (recording it on the first run);
    the problems found, empty when all is well. Flushes, never commits."""
    rows = {row.name: row for row in db.session.scalars(select(KeyCheck))}
    problems = []
    wanted = fingerprint(current_app.config["PSEUDONYM_KEY"])
    if "pseudonym" not in rows:
        db.session.add(KeyCheck(name="pseudonym", value=wanted))
    elif not hmac.compare_digest(rows["pseudonym"].value, wanted):
        problems.append(PSEUDONYM_WRONG)
    if "encryption" not in rows:
        db.session.add(KeyCheck(name="encryption", value=encrypt(_SAMPLE)))
    else:
        try:
            ok = decrypt(rows["encryption"].value) == _SAMPLE
        except InvalidToken:
            ok = False
        if not ok:
            problems.append(ENCRYPTION_WRONG)
        elif renew_sample:
            # After a rotation: the sample follows the data to the newest key, so dropping
            # the old key later is caught if anything still needs it.
            rows["encryption"].value = encrypt(_SAMPLE)
    db.session.flush()
    return problems


def check_at_start(app: Flask) -> None:
    """At the start of the web and the worker: stop on a key mismatch. Skipped under the
    `flask` command (`flask check-keys` answers there, and `flask db upgrade` must run
    before the table exists) and while the database is unreachable or not migrated."""
    if not app.config.get("KEY_CHECK_AT_START") or os.environ.get("FLASK_RUN_FROM_CLI"):
        return
    with app.app_context():
        try:
            problems = check()
            db.session.commit()
        except SQLAlchemyError as exc:
            db.session.rollback()
            log.warning("key check skipped: %s", type(exc).__name__)
            return
        finally:
            db.session.remove()
            # No connection outlives the check: Celery's pool and gunicorn fork after this,
            # and a connection shared by forked processes breaks for all of them.
            db.engine.dispose()
    if problems:
        raise KeyProblem(" ".join(problems))
