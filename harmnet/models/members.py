"""Members of a group, their trainings and attendance."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKeyConstraint, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..security import EncryptedString
from ..tenancy import GroupScoped
from ._types import BigId, UTCDateTime, utcnow

MEMBER_ROLES = ("peer_educator", "volunteer", "club_member", "collaborator")
MEMBER_STATUSES = ("active", "paused", "left")
GENDERS = ("F", "M", "T", "X")
TRAINING_TOPICS = (
    "harm_reduction", "hiv_sti_prevention", "pep_prep", "gbv_prevention", "legal_labour_rights",
    "outreach_communication", "counselling_skills", "first_aid", "vocational",
)
TRAINING_STATUSES = ("planned", "held", "cancelled")
ATTENDANCE_STATUSES = ("invited", "attended", "absent", "excused")


class Member(GroupScoped, db.Model):
    """A peer educator, volunteer, club member or collaborator, known by an alias."""

    __tablename__ = "members"
    __group_args__ = (
        Index("ix_members_group_id_alias", "group_id", "alias"),
        Index("ix_members_group_id_status_role", "group_id", "status", "role_in_group"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The name the group uses; no legal name is required.
    alias: Mapped[str] = mapped_column(String(80))
    #: peer_educator | volunteer | club_member | collaborator
    role_in_group: Mapped[str] = mapped_column(String(20), default="peer_educator")
    #: active | paused | left
    status: Mapped[str] = mapped_column(String(10), default="active")
    joined_on: Mapped[date | None]
    paused_on: Mapped[date | None]
    left_on: Mapped[date | None]
    #: F | M | T | X (not said)
    gender: Mapped[str | None] = mapped_column(String(1))
    birth_year: Mapped[int | None]
    #: Fernet ciphertext; shown masked, revealed only on an audited action.
    phone: Mapped[str | None] = mapped_column(EncryptedString(400))
    #: Wants reminders of trainings (to `phone`).
    reminder_consent: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Training(GroupScoped, db.Model):
    """A training session the group runs for its members."""

    __tablename__ = "trainings"
    __group_args__ = (Index("ix_trainings_group_id_starts_at", "group_id", "starts_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    #: One of TRAINING_TOPICS.
    topic: Mapped[str] = mapped_column(String(40))
    #: UTC; shown in the group's timezone.
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_minutes: Mapped[int] = mapped_column(default=120)
    location: Mapped[str] = mapped_column(String(200), default="")
    facilitator: Mapped[str] = mapped_column(String(120), default="")
    capacity: Mapped[int | None]
    #: planned | held | cancelled
    status: Mapped[str] = mapped_column(String(10), default="planned")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Attendance(GroupScoped, db.Model):
    """A member's invitation to, and attendance at, one training."""

    __tablename__ = "attendances"
    __group_args__ = (
        UniqueConstraint("group_id", "training_id", "member_id"),
        ForeignKeyConstraint(
            ["group_id", "training_id"], ["trainings.group_id", "trainings.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["group_id", "member_id"], ["members.group_id", "members.id"], ondelete="CASCADE"
        ),
        Index("ix_attendances_group_id_member_id", "group_id", "member_id"),
        # The monthly report's participants: the attendances of a period's trainings, one
        # probe per training. Deduplicated (a key per training), so it stays a fraction of
        # the unique index's size and depth however many years of roll calls it holds
        # (migration 0019).
        Index("ix_attendances_group_id_training_id_attended", "group_id", "training_id",
              postgresql_where=text("status = 'attended'"),
              sqlite_where=text("status = 'attended'")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    training_id: Mapped[int] = mapped_column(BigId)
    member_id: Mapped[int] = mapped_column(BigId)
    #: invited | attended | absent | excused
    status: Mapped[str] = mapped_column(String(10), default="invited")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
