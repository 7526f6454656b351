"""Commodity stock: the commodity list, one stock card per group and commodity, and the
ledger of line items behind it (the OpenLMIS stock-management model).

The ledger (`stock_lines`) is the truth and is append-only: receipts (+), distribution
written from the contacts (- when given, + when a contact is edited down or deleted) and
adjustments (lost, expired, damaged: -; a physical count: the difference, either way).
The card (`stock_cards`) keeps the running balance, moved by the same transaction that
writes a line with one `balance = balance + n` statement, so two peer educators saving at
once both count (the row lock orders them) and pages read one row per commodity.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..tenancy import GroupScoped
from ._types import BigId, UTCDateTime, utcnow

#: The commodities every group has; each is distributed through a contact field.
CORE_COMMODITIES = ("condoms", "lubricants", "leaflets", "self_test_kits")
#: The core commodities' rows: code, Vietnamese and English names, whether batches expire
#: (migration 0013 writes them; `services.stock.ensure_core_commodities` restores them).
CORE_ROWS = (
    ("condoms", "Bao cao su", "Condoms", True),
    ("lubricants", "Chất bôi trơn", "Lubricants", True),
    ("leaflets", "Tờ rơi", "Leaflets", False),
    ("self_test_kits", "Bộ tự xét nghiệm HIV", "HIV self-test kits", True),
)
LINE_KINDS = ("receipt", "distribution", "adjustment")
#: Adjustment reasons: the first three take stock away, "counted" records a count's difference.
ADJUSTMENT_REASONS = ("lost", "expired", "damaged", "counted")
#: What wrote a distribution line.
DISTRIBUTION_REASONS = ("contact", "contact_edited", "contact_deleted")


class Commodity(db.Model):
    """A commodity groups hand out. Reference data, not group-owned: the four core ones
    belong to no department; a department adds its own for the groups of its subtree."""

    __tablename__ = "commodities"
    __table_args__ = (
        UniqueConstraint("department_id", "code"),
        Index("ix_commodities_department_id", "department_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Stable code; the core ones are also the indicator cells and the contact fields.
    code: Mapped[str] = mapped_column(String(30))
    name_vi: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    #: None for a core commodity; else the department that added it.
    department_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("departments.id", ondelete="RESTRICT"))
    #: The contact field that gives it out (condoms, ...), or None (receipts and counts only).
    contact_field: Mapped[str | None] = mapped_column(String(30))
    #: Whether receipts carry a batch and an expiry date (self-test kits, condoms, lubricants).
    tracks_expiry: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def name(self, locale: str) -> str:
        return self.name_en if str(locale).startswith("en") else self.name_vi


class StockCard(GroupScoped, db.Model):
    """A group's stock of one commodity: the running balance of its ledger."""

    __tablename__ = "stock_cards"
    __group_args__ = (UniqueConstraint("group_id", "commodity_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    commodity_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("commodities.id", ondelete="RESTRICT"))
    #: Sum of the card's lines; negative when more was given out than was recorded in.
    balance: Mapped[int] = mapped_column(default=0)
    #: The date of the card's earliest line: stock-out days are counted from here.
    started_on: Mapped[date]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class StockLine(GroupScoped, db.Model):
    """One line item of a group's ledger of a commodity. Never updated or deleted."""

    __tablename__ = "stock_lines"
    __group_args__ = (
        ForeignKeyConstraint(["group_id", "contact_id"], ["contacts.group_id", "contacts.id"],
                             ondelete="RESTRICT"),
        # The card's history, newest first, and any period's lines of a commodity.
        Index("ix_stock_lines_group_id_commodity_id_occurred_on",
              "group_id", "commodity_id", "occurred_on", "id"),
        # The lines a contact wrote (an edit or a deletion reverses them).
        Index("ix_stock_lines_group_id_contact_id", "group_id", "contact_id",
              postgresql_where=text("contact_id IS NOT NULL"),
              sqlite_where=text("contact_id IS NOT NULL")),
        # What came in (receipts with their expiry) and adjustments: a few lines a month,
        # read without the distribution history (the usable balance, the card's receipts).
        Index("ix_stock_lines_group_id_commodity_id_stock_in", "group_id", "commodity_id",
              "expires_on",
              postgresql_where=text("kind <> 'distribution'"),
              sqlite_where=text("kind <> 'distribution'")),
        # A period's lines of every commodity (the monthly indicators).
        Index("ix_stock_lines_group_id_occurred_on", "group_id", "occurred_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    commodity_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("commodities.id", ondelete="RESTRICT"))
    #: receipt | distribution | adjustment
    kind: Mapped[str] = mapped_column(String(12))
    occurred_on: Mapped[date]
    #: Signed: what the line does to the balance.
    quantity: Mapped[int]
    #: Adjustment: one of ADJUSTMENT_REASONS; distribution: one of DISTRIBUTION_REASONS.
    reason: Mapped[str | None] = mapped_column(String(20))
    #: Receipt: from whom (a programme, a clinic, a donor).
    source: Mapped[str] = mapped_column(String(200), default="")
    batch: Mapped[str] = mapped_column(String(60), default="")
    expires_on: Mapped[date | None]
    #: A count: what was on the shelf (the line's quantity is the difference).
    counted: Mapped[int | None]
    #: Distribution: the contact that gave it out.
    contact_id: Mapped[int | None] = mapped_column(BigId)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
