"""Helpers of the stock tests: contacts through the contact service, the core commodities,
and what the ledger and the contacts say (read back in SQL)."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy import func, select

from harmnet.extensions import db
from harmnet.models import Commodity, Contact, StockCard, StockLine
from harmnet.services import contacts

_keys = itertools.count(1)


def core() -> dict[str, int]:
    """{code: id} of the core commodities."""
    return dict(db.session.execute(select(Commodity.code, Commodity.id)
                                   .where(Commodity.department_id.is_(None))).all())


def session_contact(group_id: int, user_id: int, on: date, **given: int) -> int:
    """A small-group session (no client code needed) giving out `given`, through the service."""
    return contacts.create_contact(
        group_id, user_id,
        contacts.ContactInput(occurred_on=on, channel="group_session", participants_count=5,
                              **given),
        f"stock-{next(_keys)}")


def live_contact(contact_id: int) -> Contact:
    return db.session.scalar(select(Contact).where(Contact.id == contact_id))


def balances() -> dict[int, int]:
    return dict(db.session.execute(select(StockCard.commodity_id, StockCard.balance)).all())


def ledger_sums() -> dict[tuple[int, str], int]:
    """{(commodity id, kind): sum of quantities} of the current group's ledger."""
    return {(cid, kind): int(q) for cid, kind, q in db.session.execute(
        select(StockLine.commodity_id, StockLine.kind, func.sum(StockLine.quantity))
        .group_by(StockLine.commodity_id, StockLine.kind))}


def given_by_live_contacts(field: str) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(getattr(Contact, field)), 0))
                                 .where(Contact.deleted_at.is_(None))))
