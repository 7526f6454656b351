"""Security primitives: password hashing and rules, encrypted columns, one-time tokens."""

from __future__ import annotations

import hashlib
import secrets
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask
from sqlalchemy import String
from sqlalchemy.types import TypeDecorator

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_fernet: MultiFernet | None = None


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Check a password against its hash, in constant time per the library."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


#: A hash to verify against when the login does not exist, so timing does not tell.
DUMMY_HASH = _hasher.hash("not-a-real-password-at-all")


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@cache
def common_passwords() -> frozenset[str]:
    """The 3,000 most common passwords (from zxcvbn's list, shipped in harmnet/data)."""
    text = resources.files("harmnet").joinpath("data/common-passwords.txt").read_text()
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def password_problem(password: str, login: str | None = None) -> str | None:
    """Return a reason code when a password breaks the rules, else None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "too_short"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "too_long"
    if password.lower() in common_passwords():
        return "too_common"
    if login and password.lower() == login.lower():
        return "same_as_login"
    return None


def new_token() -> tuple[str, str]:
    """A URL-safe one-time token and the SHA-256 hash that is stored in its place."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- encryption at rest -------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Build the Fernet keyring; the first key encrypts, every key decrypts (rotation)."""
    global _fernet
    keys = app.config["ENCRYPTION_KEYS"]
    if not keys:
        raise RuntimeError("no encryption keys configured")
    _fernet = MultiFernet([Fernet(k) for k in keys])


def fernet() -> MultiFernet:
    if _fernet is None:
        raise RuntimeError("encryption is not initialised (create_app first)")
    return _fernet


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    return fernet().decrypt(value.encode()).decode()


def rotate(value: str) -> str:
    """Re-encrypt a ciphertext under the newest key."""
    return fernet().rotate(value.encode()).decode()


class EncryptedString(TypeDecorator):
    """A string stored as Fernet ciphertext; the database never sees the plain value."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: object) -> str | None:
        if value is None or value == "":
            return None
        return encrypt(value)

    def process_result_value(self, value: str | None, dialect: object) -> str | None:
        if value is None:
            return None
        try:
            return decrypt(value)
        except InvalidToken:
            # A key was retired too early: show nothing rather than fail the page.
            return None


def mask_phone(phone: str | None) -> str:
    """Show only the last two digits of a phone number."""
    if not phone:
        return ""
    digits = [c for c in phone if c.isdigit()]
    return "•" * max(len(digits) - 2, 4) + "".join(digits[-2:])
