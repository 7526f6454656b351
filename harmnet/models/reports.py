"""Department-level data: de-identified report snapshots, yearly targets, export mapping
and DHIS2 push settings and results."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..security import EncryptedString
from ._types import BigId, FloatArray, JSONType, UTCDateTime, utcnow

SNAPSHOT_REASONS = ("monthly", "refresh", "seed", "revision")
PERIOD_TYPES = ("month", "quarter", "year")
MAPPING_KINDS = ("dataset", "orgunit", "element", "total", "coc")


class ReportSnapshot(db.Model):
    """An immutable, versioned, de-identified report of one group for one period: a month,
    a quarter (to date) or a reporting year (to date).

    Not group-scoped: it belongs to the department's side of the wall. It holds counts only.
    A new version is written only when the published values change; rows are never updated
    (on PostgreSQL a trigger refuses UPDATE).
    """

    __tablename__ = "report_snapshots"
    __table_args__ = (
        UniqueConstraint("group_id", "period", "version"),
        # The dashboard's headline sums, newest-version check and row-level security read
        # only these columns: index-only scans (migration 0018).
        Index("ix_report_snapshots_period_department_id", "period", "department_id",
              postgresql_include=["group_id", "version", "through", "headline"]),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    department_id: Mapped[int] = mapped_column(BigId, ForeignKey("departments.id"))
    group_id: Mapped[int] = mapped_column(BigId, ForeignKey("peer_groups.id"))
    #: YYYY-MM (month), YYYY-Qn (calendar quarter), YYYY (calendar year) or YYYY-FYmm
    #: (a reporting year starting in month mm of YYYY).
    period: Mapped[str] = mapped_column(String(12))
    #: month | quarter | year
    period_type: Mapped[str] = mapped_column(String(8), default="month",
                                             server_default="month")
    #: The last month the values cover (a quarter or year to date grows month by month).
    through: Mapped[str | None] = mapped_column(String(7))
    #: On a revision (a new version through the same month): the codes of the indicators
    #: whose published values moved. None on a first version or a period extended.
    changed: Mapped[list | None] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(default=1)
    #: final (kept for compatibility; the latest version is the current one)
    status: Mapped[str] = mapped_column(String(12), default="final")
    #: Indicator values, suppressed for the department (no row-level data ever).
    payload: Mapped[dict] = mapped_column(JSONType, default=dict)
    #: SHA-256 of the canonical payload.
    checksum: Mapped[str] = mapped_column(String(64))
    #: What wrote it: monthly | refresh | seed | revision.
    reason: Mapped[str] = mapped_column(String(12), default="monthly", server_default="monthly")
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The payload's published values as numbers, NULL where hidden, in the layout of
    #: indicators.headline_layout() (indicator totals; by-service shown sums and hidden
    #: counts), so that the department's pages add thousands of snapshots up in SQL.
    headline: Mapped[list | None] = mapped_column(FloatArray)
    #: Every cell of the payload's values in the layout of indicators.figure_layout().
    figures: Mapped[list | None] = mapped_column(FloatArray)


class Target(db.Model):
    """A department's yearly target for one indicator."""

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("department_id", "indicator", "year"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    department_id: Mapped[int] = mapped_column(BigId, ForeignKey("departments.id"))
    indicator: Mapped[str] = mapped_column(String(60))
    year: Mapped[int]
    value: Mapped[int]


class CodeMapping(db.Model):
    """One export code a department manager set: an org unit, data element, category option
    combination or data set code of the department's DHIS2 (or ADX) system."""

    __tablename__ = "code_mappings"
    __table_args__ = (UniqueConstraint("department_id", "kind", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    department_id: Mapped[int] = mapped_column(BigId, ForeignKey("departments.id"))
    #: dataset | orgunit | element | total (a disaggregated indicator's total: its own data
    #: element, or "-" to leave it out) | coc
    kind: Mapped[str] = mapped_column(String(10))
    #: "" (dataset), "dept:<code>" / "group:<slug>" (orgunit), an indicator code (element),
    #: a cell key (coc).
    key: Mapped[str] = mapped_column(String(80))
    code: Mapped[str] = mapped_column(String(80))


class Dhis2Settings(db.Model):
    """A department's optional DHIS2-compatible endpoint for pushing dataValueSets."""

    __tablename__ = "dhis2_settings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    department_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("departments.id"), unique=True
    )
    #: e.g. https://dhis2.example.org/api/dataValueSets
    url: Mapped[str] = mapped_column(String(300))
    username: Mapped[str] = mapped_column(String(100), default="")
    #: Fernet ciphertext; never shown again once saved.
    password: Mapped[str | None] = mapped_column(EncryptedString(600))
    enabled: Mapped[bool] = mapped_column(default=False)
    #: group: each group's figures under its own org unit; department: the subtree's
    #: figures added up under the department's org unit.
    level: Mapped[str] = mapped_column(String(10), default="group", server_default="group")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Dhis2Push(db.Model):
    """One push of a snapshot's values to a department's DHIS2 endpoint, and its result."""

    __tablename__ = "dhis2_pushes"
    __table_args__ = (
        Index("ix_dhis2_pushes_department_id_created_at", "department_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    department_id: Mapped[int] = mapped_column(BigId, ForeignKey("departments.id"))
    snapshot_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("report_snapshots.id", ondelete="CASCADE")
    )
    #: pending | ok | failed
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    http_status: Mapped[int | None]
    #: A department-level push: the keys it sent ([data element, period, org unit, option
    #: combo] codes), so the next push of the period withdraws those it no longer sends.
    sent: Mapped[list | None] = mapped_column(JSONType)
    #: The server's import summary counts or an error reason; never a personal value.
    message: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
