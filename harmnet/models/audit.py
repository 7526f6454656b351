"""The audit trail: who did what to which object, and when; never a sensitive value."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._types import BigId, JSONType, UTCDateTime, utcnow


class AuditEvent(db.Model):
    """One audited action. Append-only; `detail` holds ids and codes, never personal values."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_group_id_occurred_at", "group_id", "occurred_at"),
        Index("ix_audit_events_department_id_occurred_at", "department_id", "occurred_at"),
        # No INSERT ... RETURNING: under row-level security a returned row must also be
        # readable, and an event is written in contexts that may not read it back (a
        # failed sign-in, the admin acting in a group). The id comes from the sequence first.
        {"implicit_returning": False},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    #: The group acted in, when any (not a tenant filter: the platform keeps this trail).
    group_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("peer_groups.id"))
    department_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("departments.id"))
    #: e.g. "login.success", "member.phone_shown".
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(BigId)
    detail: Mapped[dict] = mapped_column(JSONType, default=dict)
