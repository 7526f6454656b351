"""Logins, their roles in groups and departments, and invitations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..tenancy import GroupScoped
from ._types import BigId, UTCDateTime, utcnow

GROUP_ROLES = ("coordinator", "peer_educator")
DEPARTMENT_ROLES = ("viewer", "manager")


class User(db.Model):
    """A person who signs in. A login names a person; memberships name their roles."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    login: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(200))
    #: Interface language: vi | en.
    locale: Mapped[str] = mapped_column(String(8), default="vi")
    is_active: Mapped[bool] = mapped_column(default=True)
    #: Platform admin: creates departments and groups, never sees group data.
    is_admin: Mapped[bool] = mapped_column(default=False)
    #: TOTP secret, encrypted; set at enrolment, in force once `totp_enabled_at` is set.
    totp_secret: Mapped[str | None] = mapped_column(String(200))
    #: When two-step sign-in was turned on (None: off).
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The last 30-second step whose code was accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    #: Bumped to end every open session ("sign out everywhere", deactivation, a new
    #: password): the cookie carries the version it was signed in under.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Flask-Login protocol -------------------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # The session version travels in the id, so bumping it invalidates the cookie.
        return f"{self.id}:{self.session_version}"


class UserSession(db.Model):
    """One signed-in browser or device. The signed cookie holds only a random token naming
    this row; signing out ends the row, so a copied cookie opens nothing afterwards."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: SHA-256 of the session token; the token itself is only ever in the signed cookie.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Refreshed at most once a minute; the idle limit counts from it.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    #: A summary such as "Chrome, Android": never the whole header, never the address.
    user_agent: Mapped[str] = mapped_column(String(60), default="")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: signed_out | ended_remotely | everywhere | idle | expired
    end_reason: Mapped[str | None] = mapped_column(String(20))


class GroupMembership(GroupScoped, db.Model):
    """A user's role in one group."""

    __tablename__ = "group_memberships"
    __group_args__ = (
        UniqueConstraint("group_id", "user_id"),
        ForeignKeyConstraint(
            ["group_id", "member_id"], ["members.group_id", "members.id"], ondelete="RESTRICT"
        ),
        Index("ix_group_memberships_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    #: coordinator | peer_educator
    role: Mapped[str] = mapped_column(String(20))
    #: The member record of this person in the group, when linked.
    member_id: Mapped[int | None] = mapped_column(BigId)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DepartmentRole(db.Model):
    """A user's role in a department: viewer or manager."""

    __tablename__ = "department_roles"
    __table_args__ = (UniqueConstraint("department_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    department_id: Mapped[int] = mapped_column(BigId, ForeignKey("departments.id"))
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    #: viewer | manager
    role: Mapped[str] = mapped_column(String(20), default="viewer")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Invitation(GroupScoped, db.Model):
    """A one-time link that lets a new person set a password and join a group."""

    __tablename__ = "invitations"
    __group_args__ = (
        ForeignKeyConstraint(
            ["group_id", "member_id"], ["members.group_id", "members.id"], ondelete="CASCADE"
        ),
        Index("ix_invitations_group_id_created_at", "group_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: SHA-256 of the token; the token itself is only ever in the link. Globally unique
    #: because it is looked up before the group is known; a random hash reveals nothing.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    #: A name to recognise the invitation by in the list (an alias, not a legal name).
    label: Mapped[str] = mapped_column(String(120), default="")
    member_id: Mapped[int | None] = mapped_column(BigId)
    invited_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The login created with it.
    used_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
