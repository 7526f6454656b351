"""Reminders of appointments and trainings; the database is the source of truth."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..security import EncryptedString
from ..tenancy import GroupScoped
from ._types import BigId, UTCDateTime, utcnow

REMINDER_STATUSES = (
    "pending", "sending", "sent", "failed", "cancelled", "skipped", "uncertain",
)
#: What a coordinator says of an outbox message: passed on to the person by hand, or not.
OUTBOX_OUTCOMES = ("passed_on", "unreachable")


class Reminder(GroupScoped, db.Model):
    """One reminder to send, at most once."""

    __tablename__ = "reminders"
    __group_args__ = (
        UniqueConstraint("group_id", "idempotency_key"),
        ForeignKeyConstraint(
            ["group_id", "appointment_id"], ["appointments.group_id", "appointments.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["group_id", "attendance_id"], ["attendances.group_id", "attendances.id"],
            ondelete="CASCADE",
        ),
        Index("ix_reminders_group_id_status_send_at", "group_id", "status", "send_at"),
        Index("ix_reminders_group_id_appointment_id", "group_id", "appointment_id"),
        Index("ix_reminders_group_id_attendance_id", "group_id", "attendance_id"),
        # The dispatcher's cross-group sweep (migration 0011): open rows only, by due time.
        Index("ix_reminders_due", "send_at", "group_id",
              postgresql_where=text("status = 'pending' OR status = 'sending'"),
              sqlite_where=text("status = 'pending' OR status = 'sending'")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    appointment_id: Mapped[int | None] = mapped_column(BigId)
    attendance_id: Mapped[int | None] = mapped_column(BigId)
    #: UTC.
    send_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: sms | email | outbox
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    #: A reason code or a short provider message, never the text or the recipient.
    last_error: Mapped[str | None] = mapped_column(String(300))
    provider_message_id: Mapped[str | None] = mapped_column(String(120))
    #: e.g. "appt:42:24h"; the SMS gateway receives it so it can refuse a repeat.
    idempotency_key: Mapped[str] = mapped_column(String(80))
    #: Recipient's language (vi | en); None means the group's language.
    locale: Mapped[str | None] = mapped_column(String(8))
    #: When the dispatcher marked it `sending` (claimed it for one send task).
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When a send task handed it to a channel. Set (and committed) before the channel is
    #: called, so a stale `sending` row without it was never sent and may be queued again,
    #: while one with it may have been sent and is never re-sent blindly.
    handed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OutboxMessage(GroupScoped, db.Model):
    """A reminder 'sent' through the outbox channel: kept for a coordinator to read."""

    __tablename__ = "outbox_messages"
    __group_args__ = (
        ForeignKeyConstraint(
            ["group_id", "reminder_id"], ["reminders.group_id", "reminders.id"],
            ondelete="CASCADE",
        ),
        Index("ix_outbox_messages_group_id_created_at", "group_id", "created_at"),
        # One outbox message per reminder: the outbox channel is exactly-once by construction.
        UniqueConstraint("group_id", "reminder_id"),
        # The messages still to pass on, newest first (migration 0014): the outbox's first tab.
        Index("ix_outbox_messages_group_id_open", "group_id", "created_at",
              postgresql_where=text("outcome IS NULL"), sqlite_where=text("outcome IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reminder_id: Mapped[int | None] = mapped_column(BigId)
    #: Encrypted like every contact value.
    recipient: Mapped[str | None] = mapped_column(EncryptedString(600))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: None while it waits for a coordinator to pass it on; then one of OUTBOX_OUTCOMES.
    outcome: Mapped[str | None] = mapped_column(String(12))
    #: When, and by whom, the outcome was recorded (UTC; the login may go later).
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome_by: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"))
