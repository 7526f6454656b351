"""Trainings: planning, invitations, roll call, lists and calendar files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, select

from ..extensions import db
from ..models import Attendance, Member, Training
from ..models._types import utcnow
from ..models.members import ATTENDANCE_STATUSES, MEMBER_ROLES, MEMBER_STATUSES, TRAINING_TOPICS
from ..tenancy import require_group_id
from . import audit, reminders

EDITABLE = ("title", "topic", "starts_at", "duration_minutes", "location", "facilitator",
            "capacity")
MAX_DURATION = 12 * 60
MAX_CAPACITY = 1000


class TrainingError(ValueError):
    """A rule about trainings was broken; `code` (and `params`) say which."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def local_to_utc(day: date, at: time, tz: str) -> datetime:
    """A wall-clock date and time in the group's timezone, as an aware UTC datetime."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def utc_to_local(moment: datetime, tz: str) -> datetime:
    return moment.astimezone(ZoneInfo(tz))


def month_bounds(today_local: date, tz: str) -> tuple[datetime, datetime]:
    """The current local month as a UTC half-open interval."""
    start = today_local.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return local_to_utc(start, time(0), tz), local_to_utc(end, time(0), tz)


def _check(values: dict) -> None:
    if values.get("topic") not in TRAINING_TOPICS:
        raise TrainingError("bad_topic")
    duration = values.get("duration_minutes")
    if not isinstance(duration, int) or not 1 <= duration <= MAX_DURATION:
        raise TrainingError("bad_duration")
    capacity = values.get("capacity")
    if capacity is not None and not 1 <= capacity <= MAX_CAPACITY:
        raise TrainingError("bad_capacity")


def create(*, title: str, topic: str, starts_at: datetime, duration_minutes: int,
           location: str = "", facilitator: str = "", capacity: int | None = None) -> Training:
    values = {"topic": topic, "duration_minutes": duration_minutes, "capacity": capacity}
    _check(values)
    training = Training(
        group_id=require_group_id(), title=title.strip(), topic=topic, starts_at=starts_at,
        duration_minutes=duration_minutes, location=location or "",
        facilitator=facilitator or "", capacity=capacity,
    )
    db.session.add(training)
    db.session.flush()
    audit.record("training.created", "training", training.id)
    return training


def get(training_id: int) -> Training | None:
    return db.session.scalar(select(Training).where(Training.id == training_id))


def update_training(training: Training, **values: object) -> list[str]:
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    if training.status == "cancelled":
        raise TrainingError("cancelled")
    merged = {name: getattr(training, name) for name in EDITABLE} | values
    _check(merged)
    if merged["capacity"] is not None and invited_count(training.id) > merged["capacity"]:
        raise TrainingError("capacity_below_invited", invited=invited_count(training.id))
    changed = []
    for name, value in values.items():
        if name in ("location", "facilitator"):
            value = value or ""
        if getattr(training, name) != value:
            setattr(training, name, value)
            changed.append(name)
    if changed:
        db.session.flush()
        if "starts_at" in changed:
            reminders.sync_attendances_where(Attendance.training_id == training.id)
        audit.record("training.updated", "training", training.id, fields=sorted(changed))
    return changed


def cancel(training: Training) -> None:
    """Cancel a training; reminders not yet sent for it are cancelled too."""
    if training.status == "cancelled":
        return
    training.status = "cancelled"
    db.session.flush()
    reminders.sync_attendances_where(Attendance.training_id == training.id)
    audit.record("training.cancelled", "training", training.id)


def today_start(now: datetime, tz: str) -> datetime:
    """The start of the group's local day, in UTC: today's trainings count as upcoming."""
    return local_to_utc(utc_to_local(now, tz).date(), time(0), tz)


def upcoming_query(now: datetime, tz: str) -> Select:
    """Trainings from today on, soonest first."""
    return (
        select(Training)
        .where(Training.starts_at >= today_start(now, tz))
        .order_by(Training.starts_at, Training.id)
    )


def past_query(now: datetime, tz: str) -> Select:
    """Trainings before today, newest first."""
    return (
        select(Training)
        .where(Training.starts_at < today_start(now, tz))
        .order_by(Training.starts_at.desc(), Training.id.desc())
    )


def is_over(training: Training, now: datetime) -> bool:
    return training.starts_at + timedelta(minutes=training.duration_minutes) <= now


# --- invitations and roll call ------------------------------------------------------------


def invited_count(training_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Attendance).where(Attendance.training_id == training_id)
    ) or 0


def status_counts(training_id: int) -> dict[str, int]:
    counts = dict.fromkeys(ATTENDANCE_STATUSES, 0)
    for status, n in db.session.execute(
        select(Attendance.status, func.count())
        .where(Attendance.training_id == training_id)
        .group_by(Attendance.status)
    ):
        counts[status] = n
    return counts


def matching_member_ids(roles: list[str], statuses: list[str]) -> list[int]:
    """Members of the current group with one of these roles and statuses."""
    roles = [r for r in roles if r in MEMBER_ROLES]
    statuses = [s for s in statuses if s in MEMBER_STATUSES]
    if not roles or not statuses:
        return []
    return list(db.session.scalars(
        select(Member.id)
        .where(Member.role_in_group.in_(roles), Member.status.in_(statuses))
        .order_by(Member.alias)
    ))


def invite(training: Training, member_ids: list[int]) -> int:
    """Invite members (of the current group only); returns how many were newly invited."""
    if training.status == "cancelled":
        raise TrainingError("cancelled")
    wanted = list(dict.fromkeys(int(i) for i in member_ids))
    if not wanted:
        raise TrainingError("nobody_chosen")
    known = set(db.session.scalars(select(Member.id).where(Member.id.in_(wanted))))
    if len(known) != len(wanted):
        raise TrainingError("unknown_member")
    already = set(db.session.scalars(
        select(Attendance.member_id).where(Attendance.training_id == training.id,
                                           Attendance.member_id.in_(wanted))
    ))
    new = [i for i in wanted if i not in already]
    current = invited_count(training.id)
    if training.capacity is not None and current + len(new) > training.capacity:
        raise TrainingError("over_capacity", capacity=training.capacity, invited=current,
                            chosen=len(new))
    added = [Attendance(group_id=training.group_id, training_id=training.id,
                        member_id=member_id, status="invited") for member_id in new]
    db.session.add_all(added)
    db.session.flush()
    for attendance in added:
        reminders.sync_attendance_reminders(attendance)
    if new:
        audit.record("training.invited", "training", training.id, members=len(new))
    return len(new)


def uninvite(training: Training, member_id: int) -> bool:
    """Withdraw an invitation that has no roll-call mark yet."""
    attendance = db.session.scalar(
        select(Attendance).where(Attendance.training_id == training.id,
                                 Attendance.member_id == member_id)
    )
    if attendance is None or attendance.status != "invited":
        return False
    # Its reminder rows go with it (ON DELETE CASCADE), so none can be sent.
    db.session.delete(attendance)
    db.session.flush()
    audit.record("training.uninvited", "training", training.id, member_id=member_id)
    return True


@dataclass
class RosterRow:
    member_id: int
    alias: str
    role_in_group: str
    status: str


def roster(training_id: int) -> list[RosterRow]:
    rows = db.session.execute(
        select(Member.id, Member.alias, Member.role_in_group, Attendance.status)
        .join(Attendance, and_(Attendance.member_id == Member.id,
                               Attendance.group_id == Member.group_id))
        .where(Attendance.training_id == training_id)
        .order_by(Member.alias, Member.id)
    ).all()
    return [RosterRow(*r) for r in rows]


def roll_call_open(training: Training, now: datetime, tz: str) -> bool:
    """Roll call opens on the training's local day and stays open after."""
    if training.status == "cancelled":
        return False
    return utc_to_local(now, tz).date() >= utc_to_local(training.starts_at, tz).date()


def record_roll_call(training: Training, marks: dict[int, str], *, now: datetime,
                     tz: str) -> int:
    """Set each listed member's mark; the same marks sent twice change nothing more."""
    if not roll_call_open(training, now, tz):
        raise TrainingError("roll_call_closed")
    if any(status not in ATTENDANCE_STATUSES for status in marks.values()):
        raise TrainingError("bad_mark")
    rows = {
        a.member_id: a for a in db.session.scalars(
            select(Attendance).where(Attendance.training_id == training.id)
        )
    }
    if set(marks) - set(rows):
        raise TrainingError("not_on_roster")
    changed = 0
    for member_id, status in marks.items():
        if rows[member_id].status != status:
            rows[member_id].status = status
            changed += 1
    if training.status == "planned" and any(s != "invited" for s in marks.values()):
        training.status = "held"
    db.session.flush()
    if changed:
        counts = {s: sum(1 for v in marks.values() if v == s) for s in ATTENDANCE_STATUSES}
        audit.record("training.roll_call", "training", training.id, changed=changed, **counts)
    return changed


def attendance_of(member_id: int) -> list[tuple[Training, str]]:
    """A member's trainings with their mark, newest first."""
    rows = db.session.execute(
        select(Training, Attendance.status)
        .join(Attendance, and_(Attendance.training_id == Training.id,
                               Attendance.group_id == Training.group_id))
        .where(Attendance.member_id == member_id)
        .order_by(Training.starts_at.desc())
    ).all()
    return [(t, s) for t, s in rows]


def mark_of(training_id: int, member_id: int) -> str | None:
    return db.session.scalar(
        select(Attendance.status).where(Attendance.training_id == training_id,
                                        Attendance.member_id == member_id)
    )


# --- calendar file ------------------------------------------------------------------------


def _ics_escape(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def _fold(line: str) -> list[str]:
    """RFC 5545: lines of at most 75 octets, continued with a leading space."""
    out, current = [], ""
    for char in line:
        limit = 75 if not out else 74
        if len((current + char).encode()) > limit:
            out.append(current)
            current = char
        else:
            current += char
    out.append(current)
    return [out[0]] + [" " + part for part in out[1:]]


def ics(training: Training, *, host: str, summary: str, description: str = "") -> str:
    """An iCalendar file for one training (times in UTC; calendars show them locally)."""
    fmt = "%Y%m%dT%H%M%SZ"
    start = training.starts_at.astimezone(UTC)
    end = start + timedelta(minutes=training.duration_minutes)
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//harmnet//trainings//EN", "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH", "BEGIN:VEVENT",
        f"UID:training-{training.group_id}-{training.id}@{host}",
        f"DTSTAMP:{utcnow().strftime(fmt)}",
        f"DTSTART:{start.strftime(fmt)}",
        f"DTEND:{end.strftime(fmt)}",
        f"SUMMARY:{_ics_escape(summary)}",
    ]
    if training.location:
        lines.append(f"LOCATION:{_ics_escape(training.location)}")
    if description:
        lines.append(f"DESCRIPTION:{_ics_escape(description)}")
    lines.append("STATUS:" + ("CANCELLED" if training.status == "cancelled" else "CONFIRMED"))
    lines += ["END:VEVENT", "END:VCALENDAR"]
    folded = [part for line in lines for part in _fold(line)]
    return "\r\n".join(folded) + "\r\n"
