"""Supervision (issue #20, item 8): each peer educator's month against the month before.

Counts only, never a client: contacts, new clients, referrals made and completed, and
follow-ups overdue. Every figure is a GROUP BY in SQL over the two months at once (one
conditional sum per month), on the current group through the tenancy filter (and RLS),
for the people of one page only, so a page costs three small statements however long
the group's history is. Functions flush nothing and write nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, or_, select

from ..extensions import db
from ..models import Appointment, Client, Contact, GroupMembership, Referral, User

#: What each line shows, in order (the template names them).
MEASURES = ("contacts", "new_clients", "referrals_made", "referrals_completed", "overdue")
OPEN_REFERRAL = ("referred", "booked")


@dataclass(frozen=True)
class Months:
    """The month shown and the one before, as local days and as UTC instants."""

    first: date  # first day of the month shown
    prev_first: date  # first day of the month before
    next_first: date  # first day of the month after
    tz: str

    @classmethod
    def of(cls, year: int, month: int, tz: str) -> Months:
        first = date(year, month, 1)
        prev_first = (first - timedelta(days=1)).replace(day=1)
        next_first = (first + timedelta(days=32)).replace(day=1)
        return cls(first, prev_first, next_first, tz)

    def utc(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=ZoneInfo(self.tz))


@dataclass
class Line:
    """One person's figures: `now[m]` in the month shown, `before[m]` in the month before."""

    user_id: int
    name: str
    active: bool
    now: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEASURES, 0))
    before: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEASURES, 0))


def _sums(column, prev, first, nxt):  # type: ignore[no-untyped-def]
    """Two conditional counts of rows by `column`: in [first, nxt) and in [prev, first)."""
    return (func.sum(case((and_(column >= first, column < nxt), 1), else_=0)),
            func.sum(case((and_(column >= prev, column < first), 1), else_=0)))


def people(months: Months, *, only_user: int | None, after: int | None, limit: int
           ) -> tuple[list[Line], int | None]:
    """A page of the group's peer educators, in the order they joined (keyset on the
    membership id): active ones, and deactivated ones with contacts in either month.
    Returns the lines and the cursor of the next page (None: last page)."""
    worked = exists().where(Contact.peer_educator_id == GroupMembership.user_id,
                            Contact.deleted_at.is_(None),
                            Contact.occurred_on >= months.prev_first,
                            Contact.occurred_on < months.next_first)
    stmt = (select(GroupMembership.id, User.id, User.display_name, GroupMembership.is_active)
            .join(User, User.id == GroupMembership.user_id)
            .where(GroupMembership.role == "peer_educator",
                   or_(GroupMembership.is_active.is_(True), worked))
            .order_by(GroupMembership.id).limit(limit + 1))
    if only_user is not None:
        stmt = stmt.where(GroupMembership.user_id == only_user)
    if after is not None:
        stmt = stmt.where(GroupMembership.id > after)
    rows = db.session.execute(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    lines = [Line(user_id, name, bool(active)) for _mid, user_id, name, active in rows]
    return lines, (rows[-1][0] if more else None)


def fill(lines: list[Line], months: Months, *, today: date, now: datetime,
         open_after_days: int) -> list[Line]:
    """Put each line's figures in: three GROUP BY statements for the page's people."""
    if not lines:
        return lines
    by_id = {line.user_id: line for line in lines}
    ids = list(by_id)
    live = and_(Contact.group_id == Referral.group_id, Contact.id == Referral.contact_id,
                Contact.deleted_at.is_(None))
    peer = Contact.peer_educator_id

    # Contacts and new clients (a client whose first contact is this one), by the day.
    first_met = Client.first_contact_on == Contact.occurred_on
    this = and_(Contact.occurred_on >= months.first, Contact.occurred_on < months.next_first)
    last = and_(Contact.occurred_on >= months.prev_first, Contact.occurred_on < months.first)
    for pid, c_now, c_before, n_now, n_before in db.session.execute(
        select(peer, *_sums(Contact.occurred_on, months.prev_first, months.first,
                            months.next_first),
               func.count(func.distinct(case((and_(this, first_met), Contact.client_id)))),
               func.count(func.distinct(case((and_(last, first_met), Contact.client_id)))))
        .outerjoin(Client, and_(Client.group_id == Contact.group_id,
                                Client.id == Contact.client_id))
        .where(peer.in_(ids), Contact.deleted_at.is_(None),
               Contact.occurred_on >= months.prev_first, Contact.occurred_on < months.next_first)
        .group_by(peer)
    ):
        line = by_id[pid]
        line.now.update(contacts=int(c_now or 0), new_clients=int(n_now or 0))
        line.before.update(contacts=int(c_before or 0), new_clients=int(n_before or 0))

    # Referrals made (by the day referred), completed (by the day completed), and those
    # made in the month still open after the group's follow-up days.
    made_now, made_before = _sums(Referral.referred_on, months.prev_first, months.first,
                                  months.next_first)
    stale = and_(Referral.status.in_(OPEN_REFERRAL),
                 Referral.referred_on <= today - timedelta(days=open_after_days))
    referred_this = and_(Referral.referred_on >= months.first,
                         Referral.referred_on < months.next_first)
    referred_last = and_(Referral.referred_on >= months.prev_first,
                         Referral.referred_on < months.first)
    in_window = or_(
        and_(Referral.referred_on >= months.prev_first, Referral.referred_on < months.next_first),
        and_(Referral.completed_on >= months.prev_first, Referral.completed_on < months.next_first),
    )
    for pid, m_now, m_before, d_now, d_before, o_now, o_before in db.session.execute(
        select(peer, made_now, made_before,
               func.sum(case((and_(Referral.status == "completed",
                                   Referral.completed_on >= months.first,
                                   Referral.completed_on < months.next_first), 1), else_=0)),
               func.sum(case((and_(Referral.status == "completed",
                                   Referral.completed_on >= months.prev_first,
                                   Referral.completed_on < months.first), 1), else_=0)),
               func.sum(case((and_(stale, referred_this), 1), else_=0)),
               func.sum(case((and_(stale, referred_last), 1), else_=0)))
        .join(Contact, live)
        .where(peer.in_(ids), in_window)
        .group_by(peer)
    ):
        line = by_id[pid]
        line.now.update(referrals_made=int(m_now or 0), referrals_completed=int(d_now or 0))
        line.before.update(referrals_made=int(m_before or 0),
                           referrals_completed=int(d_before or 0))
        line.now["overdue"] += int(o_now or 0)
        line.before["overdue"] += int(o_before or 0)

    # Appointments of the month whose time has passed and that nobody marked.
    of_referral = and_(Referral.group_id == Appointment.group_id,
                       Referral.id == Appointment.referral_id)
    bounds = [months.utc(d) for d in (months.prev_first, months.first, months.next_first)]
    a_now, a_before = _sums(Appointment.scheduled_at, *bounds)
    for pid, u_now, u_before in db.session.execute(
        select(peer, a_now, a_before)
        .select_from(Appointment).join(Referral, of_referral).join(Contact, live)
        .where(peer.in_(ids), Appointment.status == "scheduled", Appointment.scheduled_at < now,
               Appointment.scheduled_at >= bounds[0], Appointment.scheduled_at < bounds[2])
        .group_by(peer)
    ):
        line = by_id[pid]
        line.now["overdue"] += int(u_now or 0)
        line.before["overdue"] += int(u_before or 0)
    return lines
