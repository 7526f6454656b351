"""Reading the audit trail: a group's, a department subtree's, the platform's; filtered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.sql import Select

from ..models import AuditEvent, User


def group_scope(group_id: int) -> ColumnElement[bool]:
    """Everything done in the group, by its people or by the platform admin."""
    return AuditEvent.group_id == group_id


def department_scope(subtree: list[int]) -> ColumnElement[bool]:
    """The department-level events of a subtree (exports, targets, mappings, staff): never
    a group's events, which are group data."""
    return and_(AuditEvent.group_id.is_(None), AuditEvent.department_id.in_(subtree))


def platform_scope() -> ColumnElement[bool]:
    """Sign-ins and account events outside groups, and whatever an admin did anywhere."""
    admins = select(User.id).where(User.is_admin.is_(True))
    return or_(and_(AuditEvent.group_id.is_(None), AuditEvent.department_id.is_(None)),
               AuditEvent.actor_id.in_(admins))


@dataclass
class Filters:
    actor_id: int | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None


def _utc(day: date, tz: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(tz))


def events(scope: ColumnElement[bool], filters: Filters, tz: str) -> Select:
    """The scope's events, newest first, with the actor's name (None: nobody signed in)."""
    query = (
        select(AuditEvent, User.display_name, User.login)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(scope)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )
    if filters.actor_id is not None:
        query = query.where(AuditEvent.actor_id == filters.actor_id)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.date_from is not None:
        query = query.where(AuditEvent.occurred_at >= _utc(filters.date_from, tz))
    if filters.date_to is not None:
        query = query.where(AuditEvent.occurred_at < _utc(filters.date_to + timedelta(days=1), tz))
    return query


def choices(scope: ColumnElement[bool]) -> tuple[list[tuple[int, str]], list[str]]:
    """The people and the actions that appear in the scope (for the filter lists)."""
    from ..extensions import db

    people = db.session.execute(
        select(User.id, User.display_name, User.login)
        .where(User.id.in_(select(AuditEvent.actor_id).where(scope).distinct()))
        .order_by(User.display_name)
    ).all()
    actions = db.session.scalars(
        select(AuditEvent.action).where(scope).distinct().order_by(AuditEvent.action)).all()
    return [(p.id, f"{p.display_name} ({p.login})") for p in people], list(actions)


@dataclass
class Page:
    """One page of rows (db.paginate returns only the first column of each row)."""

    items: list
    page: int
    pages: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def paginate(query: Select, page: int, per_page: int) -> Page:
    from sqlalchemy import func

    from ..extensions import db

    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max(1, -(-(total or 0) // per_page))
    page = min(max(page, 1), pages)
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return Page([tuple(r) for r in rows], page, pages)
