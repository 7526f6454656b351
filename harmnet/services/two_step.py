"""Two-step sign-in: TOTP (RFC 6238) codes, one-time recovery codes, remembered devices."""

from __future__ import annotations

import hashlib
import secrets
import time

import pyotp
import segno
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, func, select

from .. import tenancy
from ..extensions import db
from ..models import DepartmentRole, GroupMembership, RecoveryCode, User
from ..models._types import utcnow
from ..security import decrypt, encrypt
from . import audit

RECOVERY_CODES = 10
#: Codes of the step before and after are accepted too (a phone's clock drifts).
VALID_WINDOW = 1


def is_on(user: User) -> bool:
    return user.totp_enabled_at is not None and user.totp_secret is not None


def required_for(user: User) -> bool:
    """Whether this login must use two-step sign-in: when the setting is on, for logins that
    can reveal phone numbers or see many groups (coordinators, department staff, admins)."""
    if not current_app.config.get("TOTP_REQUIRED"):
        return False
    if user.is_admin:
        return True
    staff = db.session.scalar(
        select(func.count()).select_from(DepartmentRole).where(DepartmentRole.user_id == user.id))
    if staff:
        return True
    with tenancy.user_context(user.id):
        return bool(db.session.scalar(
            select(func.count()).select_from(GroupMembership)
            .where(GroupMembership.user_id == user.id, GroupMembership.is_active.is_(True),
                   GroupMembership.role == "coordinator")
            .execution_options(**tenancy.SKIP)))


# --- enrolment ------------------------------------------------------------------------------


def pending_secret(user: User) -> str:
    """The secret being enrolled (made now if none is waiting), stored encrypted."""
    if user.totp_secret is None or is_on(user):
        user.totp_secret = encrypt(pyotp.random_base32())
        db.session.flush()
    return decrypt(user.totp_secret)


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(
        name=user.login, issuer_name=current_app.config["TOTP_ISSUER"])


def qr_svg(uri: str) -> str:
    """The enrolment QR code as inline SVG (drawn here, no image service, no script)."""
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff",
                                                 title="QR")


def _step_of(secret: str, code: str, after: int | None) -> int | None:
    """The time step that `code` belongs to (within the window), if newer than `after`."""
    code = "".join(c for c in code if c.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // totp.interval
    for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step if after is None or step > after else None
    return None


def enable(user: User, code: str) -> list[str] | None:
    """Turn two-step sign-in on if `code` matches the pending secret; the recovery codes
    (plain, shown once) or None."""
    if user.totp_secret is None or is_on(user):
        return None
    step = _step_of(decrypt(user.totp_secret), code, None)
    if step is None:
        return None
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = new_recovery_codes(user)
    audit.record("two_step.enabled", "user", user.id, actor_id=user.id)
    return codes


def disable(user: User, *, actor_id: int | None = None, **audit_extra: object) -> None:
    """Turn two-step sign-in off: by the person, or (`actor_id`) by whoever may issue
    their reset link, when the phone and the recovery codes are both lost."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    user.session_version += 1  # remembered devices and other sessions end too
    db.session.flush()
    audit.record("two_step.disabled", "user", user.id, actor_id=actor_id or user.id,
                 **audit_extra)


def _hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").lower().encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh one-time codes (the old ones die); only their hashes are kept."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)  # 40 bits each, shown as xxxxx-xxxxx
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash(raw)))
    db.session.flush()
    return codes


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


# --- signing in -----------------------------------------------------------------------------


def check(user: User, code: str) -> str | None:
    """Accept a TOTP code (never the same step twice) or an unused recovery code; says which
    ("totp", "recovery") or None."""
    if not is_on(user):
        return None
    step = _step_of(decrypt(user.totp_secret), code, user.totp_last_step)  # type: ignore[arg-type]
    if step is not None:
        user.totp_last_step = step
        db.session.flush()
        return "totp"
    recovery = db.session.scalar(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash(code),
        RecoveryCode.used_at.is_(None)))
    if recovery is not None:
        recovery.used_at = utcnow()
        db.session.flush()
        return "recovery"
    return None


# --- remembered devices ---------------------------------------------------------------------

DEVICE_COOKIE = "harmnet_device"


def _device_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="harmnet-device")


def _device_key(user: User) -> str:
    # Changes when the secret or the session version changes: a new enrolment, turning
    # two-step off, a password change or "sign out everywhere" forget every device.
    material = f"{user.id}:{user.session_version}:{user.totp_secret}"
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def device_token(user: User) -> str:
    return _device_signer().dumps({"u": user.id, "k": _device_key(user)})


def device_remembered(user: User, cookie: str | None) -> bool:
    if not cookie:
        return False
    max_age = int(current_app.config["TOTP_REMEMBER_DEVICE"].total_seconds())
    try:
        data = _device_signer().loads(cookie, max_age=max_age)
    except BadSignature:
        return False
    return data.get("u") == user.id and secrets.compare_digest(data.get("k", ""),
                                                               _device_key(user))
