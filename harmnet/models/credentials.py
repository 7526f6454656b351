"""One-time credentials of a login: password reset links and two-step recovery codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._types import BigId, UTCDateTime, utcnow

#: Who may issue a reset link for whom: "group" (a coordinator, for a login whose only
#: role is in their group), "platform" (the admin, for a coordinator), "department" (a
#: department manager, for that department's staff).
RESET_SCOPES = ("group", "platform", "department")


class PasswordReset(db.Model):
    """A one-time link that lets a person choose a new password, handed over in person.

    Not group-owned: the admin's and a department's links belong to no group. It holds
    only a token hash and ids; it is looked up by the hash before anyone is signed in.
    """

    __tablename__ = "password_resets"
    __table_args__ = (Index("ix_password_resets_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: SHA-256 of the token; the token itself is only ever in the link.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    issued_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    #: group | platform | department (RESET_SCOPES)
    scope: Mapped[str] = mapped_column(String(12))
    #: The group or department it was issued in (for the audit trail), when any.
    group_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("peer_groups.id"))
    department_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("departments.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RecoveryCode(db.Model):
    """One of a login's ten one-time codes for when the phone with the authenticator is lost."""

    __tablename__ = "recovery_codes"
    __table_args__ = (Index("ix_recovery_codes_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    #: SHA-256 of the code (random, so a plain hash is enough).
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
