"""Commodity stock: the ledger of each group's commodities (models/stock.py).

Every write goes through `_post`: one line inserted and the card's balance moved by the
same amount in one `balance = balance + n` upsert, in the caller's transaction. The
contacts write their own distribution through `sync_contact`, called by the contact
service inside the contact's save, so a contact and its ledger lines commit together. A
contact is never refused for stock: the balance may go below zero, and the coordinator's
home then asks for the missing receipt or a count.

Functions take ids and plain values, flush and never commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, insert, literal, or_, select

from .. import tenancy
from ..extensions import db
from ..keyset import Cursor, KeysetPage, keyset_page
from ..models import Commodity, Contact, Department, PeerGroup, StockCard, StockLine
from ..models._types import utcnow
from ..models.stock import CORE_COMMODITIES, CORE_ROWS
from . import audit

#: The most one line may move (a box of 144 condoms times a few hundred): more is a typo.
QUANTITY_MAX = 100_000
EARLIEST = date(2010, 1, 1)
#: Average monthly use is taken over this many days before today.
USE_WINDOW_DAYS = 90
#: Adjustments that take stock away (a count records its own signed difference).
TAKE_AWAY = ("lost", "expired", "damaged")
CODE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


class StockError(ValueError):
    """A rule was broken; `code` says which and `field` where (the caller translates)."""

    def __init__(self, code: str, field: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.field = field


# --- the commodity list ---------------------------------------------------------------------


def _chain(department_id: int):  # type: ignore[no-untyped-def]
    """The ids of a department and its ancestors, as a subquery (one statement with the
    commodities, not a round trip of its own)."""
    chain = (select(Department.id, Department.parent_id)
             .where(Department.id == department_id).cte("chain", recursive=True))
    chain = chain.union_all(select(Department.id, Department.parent_id)
                            .where(Department.id == chain.c.parent_id))
    return select(chain.c.id)


def _visible(department_id: int):  # type: ignore[no-untyped-def]
    return and_(Commodity.is_active.is_(True),
                or_(Commodity.department_id.is_(None),
                    Commodity.department_id.in_(_chain(department_id))))


def ensure_core_commodities() -> None:
    """Write the core commodities if they are missing (migration 0013 writes them; a
    database emptied table by table, as the tests do, gets them back with its first group)."""
    have = set(db.session.scalars(select(Commodity.code)
                                  .where(Commodity.department_id.is_(None))))
    for code, name_vi, name_en, expires in CORE_ROWS:
        if code not in have:
            db.session.add(Commodity(code=code, name_vi=name_vi, name_en=name_en,
                                     contact_field=code, tracks_expiry=expires))
    db.session.flush()


def group_commodities(group: PeerGroup) -> list[Commodity]:
    """The commodities a group keeps: the core four, then its departments' own."""
    return list(db.session.scalars(
        select(Commodity).where(_visible(group.department_id))
        .order_by(Commodity.department_id.is_not(None), Commodity.id)))


def group_commodity(group: PeerGroup, commodity_id: int) -> Commodity | None:
    """One commodity the group keeps, or None (another department's is unknown here)."""
    return db.session.scalar(select(Commodity).where(Commodity.id == commodity_id,
                                                     _visible(group.department_id)))


def department_commodities(department_id: int) -> list[Commodity]:
    """What the groups under a department keep: the core ones and those of its chain."""
    return list(db.session.scalars(
        select(Commodity).where(or_(Commodity.department_id.is_(None),
                                    Commodity.department_id.in_(_chain(department_id))))
        .order_by(Commodity.department_id.is_not(None), Commodity.id)))


def add_commodity(department_id: int, code: str, name_vi: str, name_en: str,
                  tracks_expiry: bool, *, actor_id: int) -> Commodity:
    code = (code or "").strip().lower()
    if not code or len(code) > 30 or set(code) - CODE_CHARS:
        raise StockError("bad_code", "code")
    taken = db.session.scalar(select(Commodity.id).where(
        Commodity.code == code,
        or_(Commodity.department_id.is_(None),
            Commodity.department_id.in_(_chain(department_id)))))
    if taken is not None:
        raise StockError("code_taken", "code")
    commodity = Commodity(code=code, name_vi=name_vi, name_en=name_en or name_vi,
                          department_id=department_id, tracks_expiry=tracks_expiry,
                          is_active=True)
    db.session.add(commodity)
    db.session.flush()
    audit.record("commodity.added", "commodity", commodity.id, actor_id=actor_id,
                 department_id=department_id)
    return commodity


# --- posting --------------------------------------------------------------------------------


def _upsert(model):  # type: ignore[no-untyped-def]
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def _post(group_id: int, commodity_id: int, kind: str, occurred_on: date, quantity: int,
          **fields: object) -> None:
    """Write one line and move its card's balance (`_post_many` with one line)."""
    _post_many(group_id, [dict(commodity_id=commodity_id, kind=kind, occurred_on=occurred_on,
                               quantity=quantity, **fields)])


def _post_many(group_id: int, lines: list[dict]) -> None:
    """Write ledger lines and move their cards' balances by as much, in two statements
    whatever the number of lines: one INSERT of the lines, one INSERT ... ON CONFLICT of
    the cards (`balance = balance + n` in the database, never a balance read into Python
    and written back), cards in commodity order so two saves never deadlock."""
    if not lines:
        return
    db.session.execute(insert(StockLine), [{"group_id": group_id, **line} for line in lines])
    moved: dict[int, list] = {}
    for line in lines:
        card = moved.setdefault(line["commodity_id"], [0, line["occurred_on"]])
        card[0] += line["quantity"]
        card[1] = min(card[1], line["occurred_on"])
    stmt = _upsert(StockCard).values([
        {"group_id": group_id, "commodity_id": cid, "balance": delta, "started_on": first,
         "updated_at": utcnow()}
        for cid, (delta, first) in sorted(moved.items())])
    earliest = (func.min if db.session.get_bind().dialect.name == "sqlite" else func.least)
    db.session.execute(stmt.on_conflict_do_update(
        index_elements=["group_id", "commodity_id"],
        set_={"balance": StockCard.balance + stmt.excluded.balance,
              "started_on": earliest(StockCard.started_on, stmt.excluded.started_on),
              "updated_at": stmt.excluded.updated_at}))


def _check_quantity(quantity: int | None, field: str = "quantity", minimum: int = 1) -> int:
    if quantity is None:
        raise StockError("quantity_needed", field)
    if quantity < minimum:
        raise StockError("quantity_negative" if quantity < 0 else "quantity_zero", field)
    if quantity > QUANTITY_MAX:
        raise StockError("quantity_absurd", field)
    return quantity


def _check_date(day: date | None, today: date) -> date:
    if day is None:
        raise StockError("date_needed", "occurred_on")
    if day > today:
        raise StockError("date_future", "occurred_on")
    if day < EARLIEST:
        raise StockError("date_old", "occurred_on")
    return day


def record_receipt(group_id: int, commodity: Commodity, *, occurred_on: date | None,
                   quantity: int | None, source: str, batch: str = "",
                   expires_on: date | None = None, actor_id: int, today: date) -> None:
    """Stock received (from a programme, a clinic, a donor)."""
    _check_date(occurred_on, today)
    _check_quantity(quantity)
    if not (source or "").strip():
        raise StockError("source_needed", "source")
    if not commodity.tracks_expiry:
        batch, expires_on = "", None
    elif expires_on is not None and expires_on < occurred_on:  # type: ignore[operator]
        raise StockError("expiry_before_receipt", "expires_on")
    _post(group_id, commodity.id, "receipt", occurred_on, quantity,  # type: ignore[arg-type]
          source=source.strip(), batch=(batch or "").strip(), expires_on=expires_on,
          created_by=actor_id)
    audit.record("stock.received", "commodity", commodity.id, actor_id=actor_id,
                 quantity=quantity)


def record_adjustment(group_id: int, commodity: Commodity, *, occurred_on: date | None,
                      reason: str, quantity: int | None, note: str = "", actor_id: int,
                      today: date) -> None:
    """Stock lost, expired or damaged: taken off the balance, with its reason."""
    if reason not in TAKE_AWAY:
        raise StockError("unknown_reason", "reason")
    _check_date(occurred_on, today)
    _check_quantity(quantity)
    _post(group_id, commodity.id, "adjustment", occurred_on, -quantity,  # type: ignore[arg-type, operator]
          reason=reason, note=(note or "").strip(), created_by=actor_id)
    audit.record("stock.adjusted", "commodity", commodity.id, actor_id=actor_id,
                 reason=reason, quantity=quantity)


def balance_on(commodity_id: int, day: date) -> int:
    """The ledger balance at the end of `day`: the card less the lines after it."""
    card, later = db.session.execute(
        select(func.max(StockCard.balance),
               select(func.coalesce(func.sum(StockLine.quantity), 0))
               .where(StockLine.group_id == tenancy.require_group_id(),
                      StockLine.commodity_id == commodity_id, StockLine.occurred_on > day)
               .scalar_subquery())
        .where(StockCard.commodity_id == commodity_id)
    ).one()
    return int(card or 0) - int(later or 0)


def record_count(group_id: int, commodity: Commodity, *, occurred_on: date | None,
                 counted: int | None, note: str = "", actor_id: int, today: date) -> int:
    """A physical count: an adjustment of the difference between what is on the shelf and
    the ledger's balance that day (zero when they agree: the count is still recorded).
    Returns the difference."""
    _check_date(occurred_on, today)
    _check_quantity(counted, "counted", minimum=0)
    difference = int(counted) - balance_on(commodity.id, occurred_on)  # type: ignore[arg-type]
    _post(group_id, commodity.id, "adjustment", occurred_on, difference,  # type: ignore[arg-type]
          reason="counted", counted=counted, note=(note or "").strip(), created_by=actor_id)
    audit.record("stock.counted", "commodity", commodity.id, actor_id=actor_id,
                 difference=difference)
    return difference


# --- distribution, from the contacts ----------------------------------------------------------


def _contact_commodities() -> dict[str, int]:
    """{contact field: commodity id} of the core commodities."""
    return {field: cid for cid, field in db.session.execute(
        select(Commodity.id, Commodity.contact_field)
        .where(Commodity.department_id.is_(None), Commodity.contact_field.is_not(None)))}


def sync_contact(contact: Contact, *, new: bool = False) -> None:
    """Make the ledger's distribution lines of `contact` match what it gives out now (its
    counts on its date, or nothing once deleted): the difference is written as new lines,
    never by changing old ones. `new`: the contact was just made (no lines to read)."""
    sync_given(contact.group_id, contact.id, contact.peer_educator_id, contact.occurred_on,
               {f: int(getattr(contact, f) or 0) for f in CORE_COMMODITIES},
               deleted=contact.deleted_at is not None, new=new)


def sync_given(group_id: int, contact_id: int, peer_educator_id: int, occurred_on: date,
               given: dict[str, int], *, deleted: bool = False, new: bool = False) -> None:
    """`sync_contact` from the contact's values (a new contact needs no reload)."""
    if new and not any(given.values()):
        return
    ids = _contact_commodities()
    wanted: dict[tuple[int, date], int] = {}
    if not deleted:
        for field, n in given.items():
            if n and field in ids:
                wanted[(ids[field], occurred_on)] = -n
    have: dict[tuple[int, date], int] = {}
    if not new:
        have = {(cid, day): int(q) for cid, day, q in db.session.execute(
            select(StockLine.commodity_id, StockLine.occurred_on, func.sum(StockLine.quantity))
            .where(StockLine.contact_id == contact_id)
            .group_by(StockLine.commodity_id, StockLine.occurred_on))}
    reason = ("contact" if new or not have else
              "contact_deleted" if deleted else "contact_edited")
    _post_many(group_id, [
        {"commodity_id": key[0], "kind": "distribution", "occurred_on": key[1],
         "quantity": wanted.get(key, 0) - have.get(key, 0), "reason": reason,
         "contact_id": contact_id, "created_by": peer_educator_id}
        for key in sorted(set(wanted) | set(have)) if wanted.get(key, 0) != have.get(key, 0)])


# --- reading -------------------------------------------------------------------------------


@dataclass
class CardSummary:
    commodity: Commodity
    tracked: bool
    #: The ledger's balance (may be negative).
    balance: int
    #: Part of the balance in batches past their expiry (not counted as on hand).
    expired: int
    #: Average monthly use over the last USE_WINDOW_DAYS.
    monthly_use: float
    #: Months of stock left at that use, or None with no use.
    months_left: float | None
    #: ok | low | out
    status: str

    @property
    def on_hand(self) -> int:
        return self.balance - self.expired

    @property
    def negative(self) -> bool:
        return self.balance < 0


def summaries(group: PeerGroup, today: date, *, tracked_only: bool = False
              ) -> list[CardSummary]:
    """Balance on hand, monthly use, months left and status of each commodity.

    Three GROUP BY statements besides the commodity list: the cards; what came in (from
    the stock-in index: receipts with their expiry, and adjustments); and the last
    USE_WINDOW_DAYS of distribution. Expired batches stop counting first-expiry-first-out:
    what is on the shelf is taken to be the latest-expiring stock, so the part of the
    balance beyond what came in unexpired (receipts with no expiry or one from today on,
    and stock found by a count) is the expired part. `tracked_only`: only commodities with
    a card (the home page; with no card at all, one statement).
    """
    cards = dict(db.session.execute(select(StockCard.commodity_id, StockCard.balance)).all())
    if tracked_only and not cards:
        return []
    # `kind` written into the SQL, so PostgreSQL's generic plan can use the partial index.
    stock_in = StockLine.kind != literal("distribution", literal_execute=True)
    unexpired = or_(StockLine.expires_on.is_(None), StockLine.expires_on >= today)
    came_in = {cid: (int(fresh or 0), int(stale or 0)) for cid, fresh, stale in
               db.session.execute(
                   select(StockLine.commodity_id,
                          func.sum(StockLine.quantity).filter(StockLine.quantity > 0,
                                                              unexpired),
                          func.count().filter(StockLine.expires_on < today))
                   .where(stock_in).group_by(StockLine.commodity_id))}
    used = dict(db.session.execute(
        select(StockLine.commodity_id, -func.sum(StockLine.quantity))
        .where(StockLine.kind == "distribution",
               StockLine.occurred_on > today - timedelta(days=USE_WINDOW_DAYS),
               StockLine.occurred_on <= today)
        .group_by(StockLine.commodity_id)).all())
    low = float(group.setting("low_stock_months"))
    out = []
    for c in group_commodities(group):
        if tracked_only and c.id not in cards:
            continue
        balance = int(cards.get(c.id, 0))
        fresh, stale = came_in.get(c.id, (0, 0))
        expired = max(0, balance - fresh) if stale and balance > 0 else 0
        use = max(0, int(used.get(c.id) or 0)) / (USE_WINDOW_DAYS / 30)
        on_hand = balance - expired
        months = round(max(on_hand, 0) / use, 1) if use else None
        status = ("out" if on_hand <= 0 else
                  "low" if months is not None and months < low else "ok")
        out.append(CardSummary(c, c.id in cards, balance, expired, round(use, 1), months,
                               status if c.id in cards else "ok"))
    return out


def alerts(group: PeerGroup, today: date) -> list[CardSummary]:
    """The commodities a coordinator should act on: out of stock, low, or below zero."""
    return [s for s in summaries(group, today, tracked_only=True) if s.status != "ok"]


def card_lines(commodity_id: int, per_page: int, *, before: Cursor | None = None,
               after: Cursor | None = None) -> KeysetPage:
    """One page of a card's lines, newest first."""
    stmt = (select(StockLine)
            .where(StockLine.group_id == tenancy.require_group_id(),
                   StockLine.commodity_id == commodity_id)
            .order_by(StockLine.occurred_on.desc(), StockLine.id.desc()))
    return keyset_page(stmt, StockLine.occurred_on, StockLine.id, per_page,
                       before=before, after=after,
                       fetch=lambda s: list(db.session.scalars(s)),
                       key_of=lambda line: (line.occurred_on, line.id))


def set_low_stock_months(group: PeerGroup, months: float, *, actor_id: int) -> None:
    if not 0 < months <= 12:
        raise StockError("bad_months", "months")
    group.settings = {**(group.settings or {}), "low_stock_months": months}
    db.session.flush()
    audit.record("stock.setting", "group", group.id, actor_id=actor_id)


# --- monthly indicators ---------------------------------------------------------------------


def month_values(run, out: dict, ids: list[int], start: date, end: date,  # type: ignore[no-untyped-def]
                 today: date) -> None:
    """Stock of the core commodities for the month [start, end), GROUP BY group: received,
    balance at the month's end, and stock-out days (days whose closing balance was zero or
    less, from the card's first line, through today in the current month).

    Two statements: each card's balance less its lines from the month's first day on (the
    opening balance, read from the month onwards, never the history before it), and the
    month's lines summed by day. The days are then walked in Python: at most 31 sums per
    card, already aggregated in SQL.
    """
    core = and_(Commodity.department_id.is_(None), Commodity.code.in_(CORE_COMMODITIES))
    since = (select(func.coalesce(func.sum(StockLine.quantity), 0))
             .where(StockLine.group_id == StockCard.group_id,
                    StockLine.commodity_id == StockCard.commodity_id,
                    StockLine.occurred_on >= start)
             .correlate(StockCard).scalar_subquery())
    opening: dict[tuple[int, str], tuple[int, date]] = {}
    for gid, code, balance, later, started in run(
        select(StockCard.group_id, Commodity.code, StockCard.balance, since,
               StockCard.started_on)
        .join(Commodity, Commodity.id == StockCard.commodity_id)
        .where(StockCard.group_id.in_(ids), core, StockCard.started_on < end)
    ):
        opening[(gid, code)] = (int(balance) - int(later), started)
    if not opening:
        return
    daily: dict[tuple[int, str], dict[date, int]] = defaultdict(dict)
    for gid, code, day, net, received in run(
        select(StockLine.group_id, Commodity.code, StockLine.occurred_on,
               func.sum(StockLine.quantity),
               func.coalesce(func.sum(StockLine.quantity).filter(StockLine.kind == "receipt"), 0))
        .join(Commodity, Commodity.id == StockLine.commodity_id)
        .where(StockLine.group_id.in_(ids), core, StockLine.occurred_on >= start,
               StockLine.occurred_on < end)
        .group_by(StockLine.group_id, Commodity.code, StockLine.occurred_on)
    ):
        daily[(gid, code)][day] = int(net)
        out[gid]["commodities_received"][code] += int(received)
    last = min(end, today + timedelta(days=1))
    for (gid, code), (balance, started) in opening.items():
        by_day = daily.get((gid, code), {})
        day, days_out = start, 0
        while day < end:
            balance += by_day.get(day, 0)
            if started <= day < last and balance <= 0:
                days_out += 1
            day += timedelta(days=1)
        out[gid]["stock_on_hand"][code] = balance
        out[gid]["stock_out_days"][code] = days_out
