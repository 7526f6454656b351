"""Departments (the supervising org-unit tree) and peer groups (the tenants)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._types import BigId, JSONType, UTCDateTime, utcnow

GROUP_KINDS = ("peer_group", "self_help_group", "club")

#: Group settings and their defaults; a group's `settings` JSON overrides them key by key.
DEFAULT_GROUP_SETTINGS: dict = {
    "quiet_start": "21:00",
    "quiet_end": "07:00",
    "reminder_lead_hours": [24, 2],
    "retention_days": 7,
    "daily_sms_cap": 200,
    "followup_days": 14,
    #: A commodity with fewer months of stock left than this shows as low on the home page.
    "low_stock_months": 1,
}


class Department(db.Model):
    """A supervising department (Sở / Phòng LĐ-TB&XH); departments form a tree."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Short code used in URLs (/d/<code>/), e.g. "hn-bd".
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    #: Person counts below this are suppressed in what the department sees.
    suppression_threshold: Mapped[int] = mapped_column(default=5)
    #: First month of the reporting year (1 = calendar year).
    fiscal_year_start_month: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PeerGroup(db.Model):
    """A peer group, self-help group or club: the tenant that owns its data."""

    __tablename__ = "peer_groups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: URL slug (/g/<slug>/).
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: peer_group | self_help_group | club
    kind: Mapped[str] = mapped_column(String(20), default="peer_group")
    department_id: Mapped[int] = mapped_column(BigId, ForeignKey("departments.id"))
    #: District or area served, free text.
    area: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Ho_Chi_Minh")
    locale: Mapped[str] = mapped_column(String(8), default="vi")
    #: First month of the group's reporting year; None: its department's.
    fiscal_year_start_month: Mapped[int | None] = mapped_column()
    #: Overrides of DEFAULT_GROUP_SETTINGS (quiet hours, reminder lead times, ...).
    settings: Mapped[dict] = mapped_column(JSONType, default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_peer_groups_department_id", "department_id"),)

    def setting(self, key: str):  # type: ignore[no-untyped-def]
        """A setting with the default filled in."""
        return (self.settings or {}).get(key, DEFAULT_GROUP_SETTINGS[key])
