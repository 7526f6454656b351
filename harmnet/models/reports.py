"""Department-level data: de-identified report snapshots and yearly targets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._types import BigId, JSONType, UTCDateTime, utcnow


class ReportSnapshot(db.Model):
    """An immutable, versioned, de-identified monthly report of one group.

    Not group-scoped: it belongs to the department's side of the wall. It holds counts only.
    """

    __tablename__ = "report_snapshots"
    __table_args__ = (
        UniqueConstraint("group_id", "period", "version"),
        Index("ix_report_snapshots_department_id_period", "department_id", "period"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    department_id: Mapped[int] = mapped_column(BigId, ForeignKey("departments.id"))
    group_id: Mapped[int] = mapped_column(BigId, ForeignKey("peer_groups.id"))
    #: YYYY-MM
    period: Mapped[str] = mapped_column(String(7))
    version: Mapped[int] = mapped_column(default=1)
    #: final | superseded
    status: Mapped[str] = mapped_column(String(12), default="final")
    #: Indicator values, suppressed for the department (no row-level data ever).
    payload: Mapped[dict] = mapped_column(JSONType, default=dict)
    #: SHA-256 of the canonical payload.
    checksum: Mapped[str] = mapped_column(String(64))
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Target(db.Model):
    """A department's yearly target for one indicator."""

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("department_id", "indicator", "year"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    department_id: Mapped[int] = mapped_column(BigId, ForeignKey("departments.id"))
    indicator: Mapped[str] = mapped_column(String(60))
    year: Mapped[int]
    value: Mapped[int]
