"""Members: listing, creating, editing, status changes, phones, history, export, dashboard."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.orm import load_only

from ..extensions import db
from ..models import Attendance, GroupMembership, Invitation, Member, Training, User
from ..models._types import utcnow
from ..models.members import GENDERS, MEMBER_ROLES, MEMBER_STATUSES
from . import audit

#: Fields a coordinator edits on the member form (status has its own action).
EDITABLE = ("alias", "role_in_group", "joined_on", "gender", "birth_year", "reminder_consent",
            "notes")

_PHONE_RE = re.compile(r"^\+?[0-9][0-9 .()-]{6,22}$")


class MemberError(ValueError):
    """A rule about members was broken; `code` says which (translated by the caller)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def normalise_alias(alias: str) -> str:
    """The form two aliases are compared in: NFC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFC", alias).casefold().split())


def normalise_phone(phone: str) -> str | None:
    """A phone number as digits with an optional leading +, or None when it is not one."""
    phone = phone.strip()
    if not _PHONE_RE.match(phone):
        return None
    digits = "".join(c for c in phone if c.isdigit())
    if not 8 <= len(digits) <= 15:
        return None
    return ("+" if phone.startswith("+") else "") + digits


def _phone(phone: str | None) -> str | None:
    if not phone:
        return None
    normal = normalise_phone(phone)
    if normal is None:
        raise MemberError("bad_phone")
    return normal


# --- reading ------------------------------------------------------------------------------

#: The columns a list page needs: never the phone or the notes (no decryption for a list).
LIST_COLUMNS = (Member.id, Member.alias, Member.role_in_group, Member.status, Member.joined_on,
                Member.group_id)


def list_query(q: str = "", role: str = "", status: str = "") -> Select:
    """Members of the current group matching a search and filters, ordered by alias."""
    stmt = select(Member).options(load_only(*LIST_COLUMNS))
    q = q.strip()
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Member.alias.ilike(f"%{escaped}%", escape="\\"))
    if role in MEMBER_ROLES:
        stmt = stmt.where(Member.role_in_group == role)
    if status in MEMBER_STATUSES:
        stmt = stmt.where(Member.status == status)
    return stmt.order_by(Member.alias, Member.id)


def get(member_id: int) -> Member | None:
    """A member of the current group (the tenant filter hides others)."""
    return db.session.scalar(select(Member).where(Member.id == member_id))


def existing_ids(member_ids: list[int]) -> set[int]:
    """Which of these ids are members of the current group."""
    if not member_ids:
        return set()
    return set(db.session.scalars(select(Member.id).where(Member.id.in_(member_ids))))


@dataclass
class HistoryRow:
    training: Training
    status: str


def training_history(member_id: int) -> list[HistoryRow]:
    rows = db.session.execute(
        select(Training, Attendance.status)
        .join(Attendance, and_(Attendance.training_id == Training.id,
                               Attendance.group_id == Training.group_id))
        .where(Attendance.member_id == member_id)
        .order_by(Training.starts_at.desc())
    ).all()
    return [HistoryRow(t, s) for t, s in rows]


def training_minutes(member_id: int) -> int:
    """Minutes of training a member attended (cancelled trainings never count)."""
    return db.session.scalar(
        select(func.coalesce(func.sum(Training.duration_minutes), 0))
        .join(Attendance, and_(Attendance.training_id == Training.id,
                               Attendance.group_id == Training.group_id))
        .where(Attendance.member_id == member_id, Attendance.status == "attended",
               Training.status != "cancelled")
    ) or 0


@dataclass
class LoginLink:
    """How a member relates to a login: linked, invited (pending), or neither."""

    login: str | None = None
    display_name: str | None = None
    pending_invitation: Invitation | None = None


def login_link(member_id: int) -> LoginLink:
    row = db.session.execute(
        select(User.login, User.display_name)
        .join(GroupMembership, GroupMembership.user_id == User.id)
        .where(GroupMembership.member_id == member_id)
    ).first()
    if row is not None:
        return LoginLink(login=row[0], display_name=row[1])
    pending = db.session.scalar(
        select(Invitation)
        .where(Invitation.member_id == member_id, Invitation.used_at.is_(None),
               Invitation.expires_at > utcnow())
        .order_by(Invitation.created_at.desc())
        .limit(1)
    )
    return LoginLink(pending_invitation=pending)


def member_for_user(user_id: int) -> Member | None:
    """The member record linked to this login in the current group, if any."""
    member_id = db.session.scalar(
        select(GroupMembership.member_id).where(GroupMembership.user_id == user_id)
    )
    return get(member_id) if member_id else None


# --- writing ------------------------------------------------------------------------------


def _check(values: dict) -> None:
    if values.get("role_in_group") not in MEMBER_ROLES:
        raise MemberError("bad_role")
    if values.get("gender") not in (None, *GENDERS):
        raise MemberError("bad_gender")


def create(*, alias: str, role_in_group: str = "peer_educator", status: str = "active",
           joined_on: date | None = None, gender: str | None = None,
           birth_year: int | None = None, phone: str | None = None,
           reminder_consent: bool = False, notes: str = "") -> Member:
    """Add a member to the current group."""
    from ..tenancy import require_group_id

    values = {"role_in_group": role_in_group, "gender": gender}
    _check(values)
    phone = _phone(phone)
    if status not in MEMBER_STATUSES:
        raise MemberError("bad_status")
    member = Member(
        group_id=require_group_id(), alias=alias.strip(), role_in_group=role_in_group,
        status=status, joined_on=joined_on, gender=gender, birth_year=birth_year,
        phone=phone or None, reminder_consent=bool(reminder_consent and phone), notes=notes or "",
    )
    today = date.today()
    if status == "paused":
        member.paused_on = today
    elif status == "left":
        member.left_on = today
    db.session.add(member)
    db.session.flush()
    audit.record("member.created", "member", member.id)
    return member


def update(member: Member, *, phone: str | None = None, remove_phone: bool = False,
           **values: object) -> list[str]:
    """Change a member's details; returns the names of the fields that changed."""
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    merged = {"role_in_group": member.role_in_group, "gender": member.gender, **values}
    _check(merged)
    changed = []
    for name, value in values.items():
        if name == "notes":
            value = value or ""
        if getattr(member, name) != value:
            setattr(member, name, value)
            changed.append(name)
    if remove_phone and member.phone:
        member.phone = None
        changed.append("phone")
    elif phone and _phone(phone) != member.phone:
        phone = _phone(phone)
        member.phone = phone
        changed.append("phone")
    # Reminders go to the phone: no phone, no consent that could be acted on.
    if member.reminder_consent and not member.phone:
        member.reminder_consent = False
        if "reminder_consent" not in changed:
            changed.append("reminder_consent")
    if changed:
        member.updated_at = utcnow()
        db.session.flush()
        if {"reminder_consent", "phone"} & set(changed):
            from . import reminders

            reminders.sync_attendances_where(Attendance.member_id == member.id)
        # Field names only: the audit trail never holds the values.
        audit.record("member.updated", "member", member.id, fields=sorted(changed))
    return changed


def change_status(member: Member, status: str, on: date) -> None:
    """Move a member to active, paused or left, as of a date."""
    if status not in MEMBER_STATUSES:
        raise MemberError("bad_status")
    if on > date.today():
        raise MemberError("date_in_future")
    if member.joined_on and on < member.joined_on:
        raise MemberError("before_joined")
    old = member.status
    if status == "active":
        if old == "active" and member.joined_on is None:
            member.joined_on = on
        elif old != "active":
            # Coming back: the pause or departure is over; joined_on keeps the first join.
            member.paused_on = None
            member.left_on = None
            if member.joined_on is None:
                member.joined_on = on
    elif status == "paused":
        member.paused_on = on
        member.left_on = None
    else:
        member.left_on = on
    member.status = status
    member.updated_at = utcnow()
    db.session.flush()
    audit.record("member.status_changed", "member", member.id, old=old, new=status)


def reveal_phone(member: Member) -> str | None:
    """The member's phone, for one page view; every reveal is audited."""
    return audit.reveal("member.phone_shown", "member", member.id, member.phone)


def rotate_phone_keys() -> int:
    """Re-encrypt every member phone of the current group under the newest key."""
    from sqlalchemy.orm.attributes import flag_modified

    count = 0
    for member in db.session.scalars(select(Member).where(Member.phone.is_not(None))):
        if member.phone is None:
            continue  # unreadable under every key: nothing to re-encrypt
        flag_modified(member, "phone")  # the type encrypts under the first (newest) key
        count += 1
    db.session.flush()
    return count


# --- export -------------------------------------------------------------------------------

EXPORT_COLUMNS = ("alias", "role_in_group", "status", "joined_on", "paused_on", "left_on",
                  "gender", "birth_year", "reminder_consent", "notes")


def export_rows(*, include_phone: bool, status: str = "", role: str = "") -> list[dict]:
    """Rows for a CSV/XLSX export of the current group's members (audited by the caller)."""
    stmt = list_query(status=status, role=role)
    columns = [getattr(Member, c) for c in EXPORT_COLUMNS] + [Member.id, Member.group_id]
    if include_phone:
        columns.append(Member.phone)
    stmt = stmt.options(load_only(*columns))
    rows = []
    for m in db.session.scalars(stmt):
        row = {c: getattr(m, c) for c in EXPORT_COLUMNS}
        if include_phone:
            row["phone"] = m.phone or ""
        rows.append(row)
    return rows


def record_export(fmt: str, count: int, include_phone: bool) -> None:
    audit.record("member.exported", "member", None, format=fmt, rows=count,
                 include_phone=include_phone)


# --- dashboard ----------------------------------------------------------------------------


@dataclass
class Dashboard:
    active_by_role: dict[str, int]
    trainings_this_month: int
    attendance_rate: float | None
    attendance_marked: int
    idle_members: list[Member]
    idle_count: int


def dashboard(month_start_utc: datetime, month_end_utc: datetime, *,
              now: datetime | None = None, idle_limit: int = 20) -> Dashboard:
    """The coordinator's overview of the current group."""
    now = now or utcnow()
    by_role = dict.fromkeys(MEMBER_ROLES, 0)
    for role, n in db.session.execute(
        select(Member.role_in_group, func.count())
        .where(Member.status == "active")
        .group_by(Member.role_in_group)
    ):
        by_role[role] = n
    trainings = db.session.scalar(
        select(func.count()).select_from(Training).where(
            Training.starts_at >= month_start_utc, Training.starts_at < month_end_utc,
            Training.status != "cancelled",
        )
    ) or 0
    # Attendance rate over the last 90 days: attended out of those whose roll call is done.
    since = now - timedelta(days=90)
    counts = dict(db.session.execute(
        select(Attendance.status, func.count())
        .join(Training, and_(Training.id == Attendance.training_id,
                             Training.group_id == Attendance.group_id))
        .where(Training.starts_at >= since, Training.starts_at <= now,
               Training.status != "cancelled",
               Attendance.status.in_(("attended", "absent", "excused")))
        .group_by(Attendance.status)
    ).all())
    marked = sum(counts.values())
    rate = (counts.get("attended", 0) / marked) if marked else None
    cutoff = now - timedelta(days=182)
    recent = exists().where(
        Attendance.member_id == Member.id, Attendance.group_id == Member.group_id,
        Attendance.status == "attended",
        Training.id == Attendance.training_id, Training.group_id == Attendance.group_id,
        Training.starts_at >= cutoff, Training.status != "cancelled",
    )
    idle = select(Member).options(load_only(*LIST_COLUMNS)).where(
        Member.status == "active", ~recent
    )
    idle_count = db.session.scalar(select(func.count()).select_from(idle.subquery())) or 0
    idle_members = list(db.session.scalars(idle.order_by(Member.alias).limit(idle_limit)))
    return Dashboard(by_role, trainings, rate, marked, idle_members, idle_count)
