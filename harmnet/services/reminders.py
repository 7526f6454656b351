"""Reminders (DESIGN section 8): rows written with their appointment or training invitation,
claimed by the dispatcher, sent at most once by the send task, shown to coordinators.

The database is the source of truth. A reminder moves
`pending` -> `sending` (claimed) -> handed to a channel (`handed_at` set and committed
before the channel is called) -> `sent` | `failed` | `skipped` | `uncertain`, or back to
`pending` (postponed by quiet hours or the SMS cap, retried after a transient error, or
never handed). Every function here flushes and never commits; the worker tasks and the
routes own the transactions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    Engine,
    case,
    create_engine,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
    update,
)

from .. import tenancy
from ..extensions import db
from ..models import (
    Appointment,
    Attendance,
    GroupMembership,
    Member,
    OutboxMessage,
    PeerGroup,
    Provider,
    Reminder,
    Training,
    User,
)
from ..models._types import utcnow
from ..models.reminders import OUTBOX_OUTCOMES, REMINDER_STATUSES
from . import audit
from .reminder_channels import Confirmation, Message
from .reminder_text import group_templates, render, sensitive_word

#: Lead times are whole hours, up to a week before.
MIN_LEAD_HOURS, MAX_LEAD_HOURS, MAX_LEADS = 1, 168, 4
#: A reminder this close to (or after) the start is no use: it is skipped.
MIN_NOTICE = timedelta(minutes=15)
#: Statuses a coordinator may send again from the problems page.
RETRYABLE = ("failed", "uncertain", "skipped")
PROBLEM_STATUSES = ("failed", "uncertain")


# --- group settings -----------------------------------------------------------------------


def parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def lead_hours(group: PeerGroup) -> list[int]:
    raw = group.setting("reminder_lead_hours") or []
    leads = sorted({int(h) for h in raw if MIN_LEAD_HOURS <= int(h) <= MAX_LEAD_HOURS},
                   reverse=True)
    return leads[:MAX_LEADS]


def quiet_window(group: PeerGroup) -> tuple[time, time]:
    return parse_hhmm(group.setting("quiet_start")), parse_hhmm(group.setting("quiet_end"))


def quiet_resume(now: datetime, tz: ZoneInfo, start: time, end: time) -> datetime | None:
    """When quiet hours end, if `now` falls inside them; None otherwise (or when start=end,
    which turns quiet hours off)."""
    if start == end:
        return None
    local = now.astimezone(tz)
    t = local.time().replace(tzinfo=None)
    if start < end:
        inside, day = start <= t < end, local.date()
    else:  # the window spans midnight, e.g. 21:00-07:00
        inside = t >= start or t < end
        day = local.date() if t < end else local.date() + timedelta(days=1)
    if not inside:
        return None
    return datetime.combine(day, end, tzinfo=tz).astimezone(UTC)


def local_day_start(now: datetime, tz: ZoneInfo) -> datetime:
    day: date = now.astimezone(tz).date()
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def settings_view(group: PeerGroup) -> dict:
    """The reminder settings of a group, defaults filled in (for the settings form)."""
    return {
        "lead_hours": lead_hours(group),
        "quiet_start": group.setting("quiet_start"),
        "quiet_end": group.setting("quiet_end"),
        "daily_sms_cap": int(group.setting("daily_sms_cap")),
        "templates": group_templates(group.settings),
    }


def update_settings(group: PeerGroup, *, lead: list[int], quiet_start: str, quiet_end: str,
                    daily_sms_cap: int, templates: Mapping[str, Mapping[str, str]],
                    actor_id: int | None = None) -> None:
    """Store validated settings (the form has checked templates for sensitive words)."""
    settings = dict(group.settings or {})
    settings.update(
        reminder_lead_hours=sorted(set(lead), reverse=True),
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        daily_sms_cap=daily_sms_cap,
        reminder_templates={kind: dict(langs) for kind, langs in templates.items()},
    )
    group.settings = settings  # a new dict, so the JSON column is seen as changed
    db.session.flush()
    audit.record("reminder.settings_changed", "peer_group", group.id, actor_id=actor_id,
                 group_id=group.id)


# --- writing rows with their appointment or invitation ------------------------------------


def _key(prefix: str, target_id: int, lead: int, at: datetime) -> str:
    # The start time is part of the key: a rescheduled appointment is a new message for
    # the gateway, while a repeat of the same one is refused by it.
    return f"{prefix}:{target_id}:{lead}h:{int(at.timestamp())}"


def _lead_of(key: str) -> int | None:
    try:
        return int(key.split(":")[2].rstrip("h"))
    except (IndexError, ValueError):
        return None


def _sync(*, prefix: str, column, target_id: int, group: PeerGroup, at: datetime,  # type: ignore[no-untyped-def]
          active: bool, reason: str, channel: str, locale: str | None,
          now: datetime) -> list[Reminder]:
    rows = list(db.session.scalars(select(Reminder).where(column == target_id)))
    desired: dict[str, datetime] = {}
    if active:
        for lead in lead_hours(group):
            send_at = at - timedelta(hours=lead)
            if send_at > now:
                desired[_key(prefix, target_id, lead, at)] = send_at
    by_key = {r.idempotency_key: r for r in rows}
    for row in rows:
        if row.status != "pending" or row.idempotency_key in desired:
            continue
        lead = _lead_of(row.idempotency_key)
        new_key = _key(prefix, target_id, lead, at) if lead is not None else None
        if active and new_key in desired and new_key not in by_key:
            # Rescheduled: the same reminder, moved (a new key, so never a repeat).
            del by_key[row.idempotency_key]
            row.idempotency_key = new_key
            by_key[new_key] = row
        else:
            row.status = "cancelled"
            row.last_error = reason if not active else "rescheduled"
    for key, send_at in desired.items():
        row = by_key.get(key)
        if row is None:
            row = Reminder(group_id=group.id, idempotency_key=key, status="pending")
            setattr(row, column.key, target_id)
            db.session.add(row)
            by_key[key] = row
        elif row.status not in ("pending", "cancelled"):
            continue  # already sent (or being sent) for this very time: never again
        row.status = "pending"
        row.send_at = send_at
        row.channel = channel
        row.locale = locale
        row.last_error = None
    db.session.flush()
    return [r for r in by_key.values() if r.status == "pending"]


def _appointment_state(appointment: Appointment) -> tuple[bool, str]:
    if appointment.status == "cancelled":
        return False, "appointment_cancelled"
    if appointment.status != "scheduled":
        return False, "appointment_closed"
    if not appointment.reminder_consent:
        return False, "no_consent"
    if not appointment.contact_value and appointment.channel != "outbox":
        # The outbox needs no number: the coordinator passes the text on by hand.
        return False, "no_contact"
    return True, ""


def appointment_channel(appointment: Appointment) -> str:
    if appointment.channel:
        return appointment.channel
    return "email" if "@" in (appointment.contact_value or "") else "sms"


def sync_appointment_reminders(appointment: Appointment, *, now: datetime | None = None,
                               locale: str | None = None) -> list[Reminder]:
    """Make the appointment's pending reminders match it, in the caller's transaction.

    Call after saving, rescheduling or cancelling. Creates one pending row per lead time
    still in the future (group setting `reminder_lead_hours`, default 24 h and 2 h), moves
    pending rows to a new time, cancels them when the appointment is cancelled or consent
    or the contact value is gone. Also sets `purge_after` (start plus retention days) when
    it is not set. Returns the pending rows.
    """
    if appointment.id is None:
        db.session.flush()
    group = db.session.get(PeerGroup, appointment.group_id)
    assert group is not None
    if appointment.purge_after is None and appointment.scheduled_at is not None:
        appointment.purge_after = appointment.scheduled_at + timedelta(
            days=int(group.setting("retention_days")))
    active, reason = _appointment_state(appointment)
    return _sync(prefix="appt", column=Reminder.appointment_id, target_id=appointment.id,
                 group=group, at=appointment.scheduled_at, active=active, reason=reason,
                 channel=appointment_channel(appointment), locale=locale,
                 now=now or utcnow())


def _member_locale(member_id: int) -> str | None:
    return db.session.scalar(
        select(User.locale)
        .join(GroupMembership, GroupMembership.user_id == User.id)
        .where(GroupMembership.member_id == member_id, GroupMembership.is_active.is_(True))
        .limit(1)
    )


def _attendance_state(attendance: Attendance, member: Member | None,
                      training: Training | None) -> tuple[bool, str]:
    if training is None or member is None:
        return False, "target_missing"
    if training.status != "planned":
        return False, "training_cancelled" if training.status == "cancelled" else "training_held"
    if attendance.status != "invited":
        return False, "not_invited"
    if member.status != "active":
        return False, "member_inactive"
    if not member.reminder_consent:
        return False, "no_consent"
    if not member.phone:
        return False, "no_contact"
    return True, ""


def sync_attendance_reminders(attendance: Attendance, *, now: datetime | None = None
                              ) -> list[Reminder]:
    """Make the reminders of a member's training invitation match it (caller's transaction).

    Only a member who consented and has a phone gets rows; they go by SMS in the language
    of the member's login when linked, else the group's. Call after inviting, after a change
    of the training's time or status, and after a change of the member's consent.
    """
    if attendance.id is None:
        db.session.flush()
    group = db.session.get(PeerGroup, attendance.group_id)
    member = db.session.get(Member, attendance.member_id)
    training = db.session.get(Training, attendance.training_id)
    assert group is not None
    active, reason = _attendance_state(attendance, member, training)
    at = training.starts_at if training is not None else utcnow()
    return _sync(prefix="att", column=Reminder.attendance_id, target_id=attendance.id,
                 group=group, at=at, active=active, reason=reason, channel="sms",
                 locale=_member_locale(attendance.member_id) if member else None,
                 now=now or utcnow())


def sync_attendances_where(*criteria: object) -> None:
    """Re-sync the reminders of every invitation matching `criteria` (a training moved, a
    member's consent or phone changed), in the caller's transaction."""
    for attendance in db.session.scalars(select(Attendance).where(*criteria)):  # type: ignore[arg-type]
        sync_attendance_reminders(attendance)


# --- dispatch: claiming due rows ----------------------------------------------------------


@dataclass(frozen=True)
class DueGroup:
    """A group the sweep found work in: reminders due (`due`), or claimed long ago and
    never settled (`stale`: their send task's message or worker was lost)."""

    group_id: int
    due: bool
    stale: bool


# Literal, not bound, so that SQLite sees the partial index's own WHERE term in the query.
_OPEN = or_(Reminder.status == literal_column("'pending'"),
            Reminder.status == literal_column("'sending'"))


def sweep_stmt(now: datetime, cutoff: datetime):  # type: ignore[no-untyped-def]
    """Which active groups have work: one range scan of ix_reminders_due (open rows due by
    `now`; a stale `sending` row was due before its claim, so it is in that range too).
    Reads group ids, statuses and times only: what the sweep role may read (cli.py)."""
    return (
        select(Reminder.group_id,
               func.max(case((Reminder.status == "pending", 1), else_=0)),
               func.max(case((Reminder.status == "sending", 1), else_=0)))
        .join(PeerGroup, PeerGroup.id == Reminder.group_id)
        .where(_OPEN, Reminder.send_at <= now,
               or_(Reminder.status == "pending", Reminder.claimed_at < cutoff),
               PeerGroup.is_active.is_(True))
        .group_by(Reminder.group_id)
        .order_by(Reminder.group_id)
    )


def sweep_engine() -> Engine | None:
    """The engine of REMINDERS_DATABASE_URL (the narrow sweep role), or None."""
    url = current_app.config.get("REMINDERS_DATABASE_URL")
    if not url:
        return None
    engines: dict[str, Engine] = current_app.extensions.setdefault(
        "harmnet_reminders_sweep_engine", {})
    if url not in engines:
        engines[url] = create_engine(url, pool_pre_ping=True, pool_size=1, max_overflow=1)
    return engines[url]


def due_groups(now: datetime, stale_seconds: int) -> list[DueGroup]:
    """The groups with due or stale reminders, found with a cost that follows the due rows,
    not the number of groups: one statement, through the sweep role on PostgreSQL (row-level
    security would hide every other group from the app's role), through the app's own
    session on SQLite (no row-level security; the ORM filter is lifted for this statement
    only). On PostgreSQL without REMINDERS_DATABASE_URL each active group is asked under its
    own context: correct, but a statement per group."""
    stmt = sweep_stmt(now, now - timedelta(seconds=stale_seconds))
    engine = sweep_engine()
    if engine is not None:
        with engine.connect() as conn:
            rows = conn.execute(stmt).all()
    elif db.session.get_bind().dialect.name != "postgresql":
        rows = db.session.execute(stmt.execution_options(**tenancy.SKIP)).all()
    else:
        rows = []
        group_ids = list(db.session.scalars(
            select(PeerGroup.id).where(PeerGroup.is_active.is_(True)).order_by(PeerGroup.id)))
        for gid in group_ids:
            with tenancy.group_context(gid):
                rows.extend(db.session.execute(stmt.where(Reminder.group_id == gid)).all())
    return [DueGroup(gid, bool(due), bool(stale)) for gid, due, stale in rows]


def claim_due(group_id: int, now: datetime, limit: int) -> list[tuple[int, str]]:
    """Mark up to `limit` due pending reminders of the current group `sending`; their ids
    and channels, oldest due first.

    One statement. On PostgreSQL the rows are chosen with FOR UPDATE SKIP LOCKED, so two
    dispatchers running at once split the work instead of waiting or taking the same rows;
    on SQLite the database's single writer does the same.
    """
    due = (
        select(Reminder.id)
        .where(Reminder.group_id == group_id, Reminder.status == "pending",
               Reminder.send_at <= now)
        .order_by(Reminder.send_at)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # A materialised CTE, not `id IN (subquery)`: PostgreSQL may run such a subquery again
    # for each row it updates, and with SKIP LOCKED each run finds new rows, so the LIMIT
    # stopped holding (5,000 rows taken for a limit of 500, in 3.6 s instead of 25 ms).
    chosen = due.cte("due").prefix_with("MATERIALIZED", dialect="postgresql")
    rows = db.session.execute(
        update(Reminder)
        .where(Reminder.id.in_(select(chosen.c.id)), Reminder.status == "pending")
        .values(status="sending", claimed_at=now, handed_at=None)
        .returning(Reminder.id, Reminder.channel, Reminder.send_at)
        .execution_options(synchronize_session=False)
    ).all()
    return [(rid, channel) for rid, channel, _ in sorted(rows, key=lambda r: (r[2], r[0]))]


def unclaim(reminder_ids: list[int]) -> None:
    """Put claimed rows whose send task could not be queued back to `pending`."""
    if reminder_ids:
        db.session.execute(
            update(Reminder)
            .where(Reminder.id.in_(reminder_ids), Reminder.status == "sending",
                   Reminder.handed_at.is_(None))
            .values(status="pending", claimed_at=None)
            .execution_options(synchronize_session=False)
        )


def requeue_unhanded(now: datetime, stale_seconds: int) -> int:
    """Rows claimed long ago whose send task never started (its message was lost with a
    broker restart, say): nothing was sent, so they simply become `pending` again."""
    cutoff = now - timedelta(seconds=stale_seconds)
    result = db.session.execute(
        update(Reminder)
        .where(Reminder.status == "sending", Reminder.handed_at.is_(None),
               Reminder.claimed_at < cutoff)
        .values(status="pending", claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


def stale_handed(now: datetime, stale_seconds: int) -> list[tuple[int, str, str]]:
    """(id, channel, key) of rows handed to a channel long ago with no result recorded:
    the worker died during the send. They may have been sent."""
    cutoff = now - timedelta(seconds=stale_seconds)
    return [
        (r.id, r.channel, r.idempotency_key)
        for r in db.session.execute(
            select(Reminder.id, Reminder.channel, Reminder.idempotency_key)
            .where(Reminder.status == "sending", Reminder.handed_at < cutoff)
        )
    ]


def settle_stale(reminder_id: int, confirmation: Confirmation, message_id: str | None,
                 now: datetime) -> str:
    """Apply a channel's answer about a stale handed row: sent, pending again, or uncertain."""
    base = update(Reminder).where(Reminder.id == reminder_id, Reminder.status == "sending",
                                  Reminder.handed_at.is_not(None))
    if confirmation is Confirmation.SENT:
        values = {"status": "sent", "provider_message_id": message_id, "sent_at": now,
                  "last_error": None}
    elif confirmation is Confirmation.NOT_SENT:
        # The provider never received it (and would refuse a repeat): safe to send again.
        values = {"status": "pending", "claimed_at": None, "handed_at": None,
                  "send_at": now, "last_error": "worker_lost_not_received"}
    else:
        values = {"status": "uncertain", "last_error": "worker_lost"}
    db.session.execute(base.values(**values).execution_options(synchronize_session=False))
    return str(values["status"])


# --- the send task's steps ----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    kind: str  # appointment | training
    at: datetime
    active: bool
    reason: str
    recipient: str | None
    place: str | None


def _targets(taken: list[Reminder]) -> dict[int, Target]:
    """What each taken reminder is for, by reminder id: one query for the appointments and
    one for the training invitations of the whole batch (a missing target is absent)."""
    out: dict[int, Target] = {}
    appt_ids = {r.appointment_id for r in taken if r.appointment_id is not None}
    att_ids = {r.attendance_id for r in taken if r.attendance_id is not None}
    appts: dict[int, Target] = {}
    if appt_ids:
        for appt, provider in db.session.execute(
            select(Appointment, Provider)
            .outerjoin(Provider, (Provider.group_id == Appointment.group_id)
                       & (Provider.id == Appointment.provider_id))
            .where(Appointment.id.in_(appt_ids))
        ):
            active, reason = _appointment_state(appt)
            place = (provider.address or provider.name) if provider is not None else None
            appts[appt.id] = Target("appointment", appt.scheduled_at, active, reason,
                                    appt.contact_value, place)
    atts: dict[int, Target] = {}
    if att_ids:
        for attendance, member, training in db.session.execute(
            select(Attendance, Member, Training)
            .join(Member, (Member.group_id == Attendance.group_id)
                  & (Member.id == Attendance.member_id))
            .join(Training, (Training.group_id == Attendance.group_id)
                  & (Training.id == Attendance.training_id))
            .where(Attendance.id.in_(att_ids))
        ):
            active, reason = _attendance_state(attendance, member, training)
            atts[attendance.id] = Target("training", training.starts_at, active, reason,
                                         member.phone, training.location or None)
    for r in taken:
        target = (appts.get(r.appointment_id) if r.appointment_id is not None
                  else atts.get(r.attendance_id) if r.attendance_id is not None else None)
        if target is not None:
            out[r.id] = target
    return out


@dataclass(frozen=True)
class SendPlan:
    channel: str
    message: Message


def _settle(reminder: Reminder, status: str, reason: str | None) -> str:
    reminder.status = status
    reminder.last_error = reason
    if status in ("pending",):
        reminder.claimed_at = None
    reminder.handed_at = None if status == "pending" else reminder.handed_at
    return status


def _postpone(reminder: Reminder, until: datetime, reason: str, *, attempted: bool = False
              ) -> str:
    if not attempted:
        reminder.attempts -= 1  # counted when taken; nothing was tried
    reminder.send_at = until
    reminder.handed_at = None
    return _settle(reminder, "pending", reason)


def _not_tried(reminder: Reminder, status: str, reason: str) -> str:
    reminder.attempts -= 1  # counted when taken; no channel was called
    return _settle(reminder, status, reason)


def _sms_sent_today(not_ids: list[int], now: datetime, tz: ZoneInfo) -> int:
    """SMS of the current group sent (or handed) since local midnight, but for `not_ids`
    (the batch being taken, whose rows are handed already)."""
    start = local_day_start(now, tz)
    return db.session.scalar(
        select(func.count())
        .select_from(Reminder)
        .where(
            Reminder.channel == "sms",
            Reminder.id.not_in(not_ids),
            or_(
                (Reminder.status == "sent") & (Reminder.sent_at >= start),
                (Reminder.status == "sending") & (Reminder.handed_at >= start),
            ),
        )
    ) or 0


class _Texts:
    """Renders a batch's texts: each template and language looked up once, each start time
    formatted once per language, each place checked once."""

    def __init__(self, group: PeerGroup) -> None:
        self.group = group
        self.templates = group_templates(group.settings)
        self.done: dict[tuple, str] = {}

    def render(self, kind: str, locale: str, at: datetime, place: str | None) -> str:
        key = (kind, locale, at, place)
        text = self.done.get(key)
        if text is None:
            template = self.templates[kind].get(locale) or self.templates[kind]["vi"]
            text = render(template, at=at, tz=self.group.timezone, locale=locale,
                          place=place, group_name=self.group.name)
            self.done[key] = text
        return text


def begin_sends(reminder_ids: list[int], now: datetime) -> dict[int, SendPlan | str]:
    """Take a batch of claimed reminders of the current group for sending, in the caller's
    transaction; for each id, a SendPlan (its `handed_at` is set: the caller commits, then
    calls the channel) or the outcome when there is nothing to send: "not_ours" (another
    task has it, or it is no longer `sending`), "postponed" (quiet hours or the SMS cap),
    "skipped", "failed".

    A batch costs the same few statements as one reminder: the compare-and-set, a read of
    the targets, and the flush of what was decided.
    """
    # Compare-and-set: of two deliveries of the same message, exactly one moves handed_at
    # from NULL; the other finds nothing to do (on PostgreSQL the second waits for the
    # first's row locks, then sees handed_at set). One round trip returns the rows too.
    taken = list(db.session.scalars(
        update(Reminder)
        .where(Reminder.id.in_(reminder_ids), Reminder.status == "sending",
               Reminder.handed_at.is_(None))
        .values(handed_at=now, attempts=Reminder.attempts + 1)
        .returning(Reminder)
        .execution_options(synchronize_session=False, populate_existing=True)
    ))
    result: dict[int, SendPlan | str] = {rid: "not_ours" for rid in reminder_ids}
    if not taken:
        return result
    group = db.session.get(PeerGroup, taken[0].group_id)
    assert group is not None
    targets = _targets(taken)
    tz = ZoneInfo(group.timezone)
    start, end = quiet_window(group)
    resume_quiet = quiet_resume(now, tz, start, end)
    texts = _Texts(group)
    budget = _SmsBudget(group, [r.id for r in taken], now, tz)
    for reminder in sorted(taken, key=lambda r: (r.send_at, r.id)):
        result[reminder.id] = _plan(reminder, targets.get(reminder.id), group, now, tz,
                                    end, resume_quiet, texts, budget)
    db.session.flush()
    return result


class _SmsBudget:
    """SMS the group may still send today (its daily cap), counted once per batch."""

    def __init__(self, group: PeerGroup, batch_ids: list[int], now: datetime, tz: ZoneInfo
                 ) -> None:
        self.group, self.batch_ids, self.now, self.tz = group, batch_ids, now, tz
        self.left: int | None = None

    def available(self) -> bool:
        if self.left is None:
            self.left = int(self.group.setting("daily_sms_cap")) - _sms_sent_today(
                self.batch_ids, self.now, self.tz)
        return self.left > 0


def _plan(reminder: Reminder, target: Target | None, group: PeerGroup, now: datetime,
          tz: ZoneInfo, quiet_end: time, resume: datetime | None, texts: _Texts,
          budget: _SmsBudget) -> SendPlan | str:
    if target is None:
        return _not_tried(reminder, "skipped", "target_missing")
    if not target.active:
        return _not_tried(reminder, "skipped", target.reason)
    if not target.recipient and reminder.channel != "outbox":
        return _not_tried(reminder, "skipped", "no_contact")
    latest = target.at - MIN_NOTICE
    if now >= latest:
        return _not_tried(reminder, "skipped", "too_late")
    # After an outage several reminders of one appointment can be due at once: send only
    # the latest of them; one text is enough.
    column = (Reminder.appointment_id if reminder.appointment_id is not None
              else Reminder.attendance_id)
    target_id = reminder.appointment_id or reminder.attendance_id
    # Lead times are whole hours apart, so only a reminder an hour late can be overtaken.
    newer_due = now - reminder.send_at >= timedelta(hours=1) and db.session.scalar(
        select(func.count()).select_from(Reminder).where(
            column == target_id, Reminder.id != reminder.id,
            Reminder.status.in_(("pending", "sending")),
            Reminder.send_at > reminder.send_at, Reminder.send_at <= now,
        )
    )
    if newer_due:
        return _not_tried(reminder, "skipped", "superseded")
    if resume is not None:
        if resume >= latest:
            return _not_tried(reminder, "skipped", "quiet_hours")
        _postpone(reminder, resume, "quiet_hours_postponed")
        return "postponed"
    if reminder.channel == "sms" and not budget.available():
        tomorrow = local_day_start(now, tz) + timedelta(days=1)
        resume_at = datetime.combine(tomorrow.astimezone(tz).date(), quiet_end, tzinfo=tz)
        resume_at = resume_at.astimezone(UTC)
        if resume_at >= latest:
            return _not_tried(reminder, "skipped", "daily_sms_cap")
        _postpone(reminder, resume_at, "daily_sms_cap_postponed")
        return "postponed"
    locale = reminder.locale or group.locale or "vi"
    try:
        text = texts.render(target.kind, locale, target.at, target.place)
    except (KeyError, ValueError, IndexError):
        return _not_tried(reminder, "failed", "template_invalid")
    if sensitive_word(text):
        # Templates are checked when saved; this catches a group name or data that slipped in.
        return _not_tried(reminder, "failed", "sensitive_text")
    if reminder.channel == "sms":
        budget.left = (budget.left or 0) - 1
    return SendPlan(reminder.channel, Message(
        group_id=group.id, reminder_id=reminder.id, recipient=target.recipient or "", text=text,
        idempotency_key=reminder.idempotency_key, locale=locale,
    ))


def begin_send(reminder_id: int, now: datetime) -> SendPlan | str:
    """`begin_sends` for one reminder."""
    return begin_sends([reminder_id], now)[reminder_id]


def record_sent_many(message_ids: Mapping[int, str], now: datetime) -> None:
    """Mark reminders sent in the transaction that took them (a transactional channel such
    as the outbox wrote its messages in it too): they commit together, or not at all. One
    statement for the batch."""
    if not message_ids:
        return
    db.session.execute(
        update(Reminder)
        .where(Reminder.id.in_(list(message_ids)), Reminder.status == "sending")
        .values(status="sent", sent_at=now, last_error=None,
                provider_message_id=case(
                    {rid: mid[:120] for rid, mid in message_ids.items()}, value=Reminder.id))
        .execution_options(synchronize_session=False)
    )


def record_sent(reminder_id: int, message_id: str, now: datetime) -> None:
    # Also over `uncertain`: a send that outlived the stale timeout still tells the truth.
    db.session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id, Reminder.status.in_(("sending", "uncertain")))
        .values(status="sent", provider_message_id=message_id[:120], sent_at=now,
                last_error=None)
        .execution_options(synchronize_session=False)
    )


def record_failure(reminder_id: int, kind: str, reason: str, now: datetime, *,
                   max_attempts: int, backoff_seconds: int) -> str:
    """After a channel error: retry later with exponential backoff (transient, while
    attempts remain), fail (permanent, or out of attempts), or mark uncertain."""
    reminder = db.session.scalar(
        select(Reminder).where(Reminder.id == reminder_id)
        .execution_options(populate_existing=True)
    )
    if reminder is None or reminder.status not in ("sending", "uncertain"):
        return "not_ours"
    if kind == "uncertain":
        return _settle(reminder, "uncertain", reason)
    if kind == "transient" and reminder.attempts < max_attempts:
        delay = backoff_seconds * 2 ** max(reminder.attempts - 1, 0)
        return _postpone(reminder, now + timedelta(seconds=delay), f"retry:{reason}",
                         attempted=True)
    if kind == "transient":
        reason = f"gave_up:{reason}"
    return _settle(reminder, "failed", reason)


# --- coordinators -------------------------------------------------------------------------


def problems_stmt():  # type: ignore[no-untyped-def]
    return (select(Reminder).where(Reminder.status.in_(PROBLEM_STATUSES + ("skipped",)))
            .order_by(Reminder.send_at.desc(), Reminder.id.desc()))


def outbox_stmt(*, waiting: bool = False):  # type: ignore[no-untyped-def]
    """The outbox, newest first; `waiting`: only the messages nobody has passed on yet
    (read through the partial index ix_outbox_messages_group_id_open)."""
    stmt = select(OutboxMessage)
    if waiting:
        stmt = stmt.where(OutboxMessage.outcome.is_(None))
    return stmt.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())


#: `last_error` of a reminder whose outbox message the coordinator could not pass on.
NOT_REACHED = "not_reached"


def outbox_message(message_id: int) -> OutboxMessage | None:
    """A message of the current group's outbox (the tenancy filter hides the others)."""
    return db.session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id))


def reveal_recipient(message: OutboxMessage) -> str | None:
    """The recipient of an outbox message, for one page view; audited like a member's phone."""
    return audit.reveal("outbox.recipient_shown", "outbox_message", message.id,
                        message.recipient)


def record_outbox_outcome(message_id: int, outcome: str, *, actor_id: int | None,
                          now: datetime | None = None) -> bool:
    """Say whether an outbox message reached its person, and make its reminder follow.

    `passed_on` is final; `unreachable` may still become `passed_on` (reached later). The
    reminder was marked `sent` when the outbox took the message (the send task's own
    transaction); `unreachable` turns it `failed` with the reason `not_reached`, so it is
    listed under "Needs attention", and `passed_on` turns such a reminder `sent` again.
    Both are compare-and-set updates of rows the dispatcher never touches again (it works
    on `pending` and `sending` rows only), so a second click or a second coordinator
    changes nothing, and no reminder is ever queued again by this. False when the message
    does not exist or already has this or a final outcome.
    """
    if outcome not in OUTBOX_OUTCOMES:
        raise ValueError(outcome)
    now = now or utcnow()
    allowed = (OutboxMessage.outcome.is_(None) if outcome == "unreachable"
               else or_(OutboxMessage.outcome.is_(None),
                        OutboxMessage.outcome == "unreachable"))
    changed = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, allowed)
        .values(outcome=outcome, outcome_at=now, outcome_by=actor_id)
        .returning(OutboxMessage.reminder_id)
        .execution_options(synchronize_session=False)
    ).all()
    if not changed:
        return False
    reminder_id = changed[0][0]
    if reminder_id is not None:
        if outcome == "unreachable":
            follow = (update(Reminder)
                      .where(Reminder.id == reminder_id, Reminder.status == "sent")
                      .values(status="failed", last_error=NOT_REACHED))
        else:
            follow = (update(Reminder)
                      .where(Reminder.id == reminder_id, Reminder.status == "failed",
                             Reminder.last_error == NOT_REACHED)
                      .values(status="sent", last_error=None))
        db.session.execute(follow.execution_options(synchronize_session=False))
    audit.record(f"outbox.{outcome}", "outbox_message", message_id, actor_id=actor_id,
                 reminder_id=reminder_id)
    return True


#: The reminders page counts each status up to this: past it, "1000+". Sent and cancelled
#: reminders pile up with the years; counting them all on every view would not stop growing.
STATUS_COUNT_CAP = 1000


def status_counts(cap: int | None = None) -> dict[str, int]:
    """Reminders of the current group by status, each counted up to `cap` (default
    STATUS_COUNT_CAP; one statement: per status, an index range of at most `cap` entries)."""
    cap = cap or STATUS_COUNT_CAP
    gid = tenancy.require_group_id()
    parts = [
        select(literal(status).label("status"), func.count().label("n")).select_from(
            select(Reminder.id).where(Reminder.group_id == gid, Reminder.status == status)
            .limit(cap).subquery())
        for status in REMINDER_STATUSES
    ]
    rows = db.session.execute(union_all(*parts)).all()
    return {status: count for status, count in rows if count}


def retryable(reminder: Reminder) -> bool:
    """Whether "send again" applies. Not to an outbox message a coordinator could not pass
    on: the outbox holds it already (one message per reminder); it is handled there."""
    return reminder.status in RETRYABLE and reminder.last_error != NOT_REACHED


def retry(reminder_id: int, *, actor_id: int | None, now: datetime | None = None) -> bool:
    """Send a failed, uncertain or skipped reminder again (same key: the gateway still
    refuses a repeat of one it already has). False when there is no such reminder."""
    reminder = db.session.scalar(select(Reminder).where(Reminder.id == reminder_id))
    if reminder is None or reminder.status not in RETRYABLE or not retryable(reminder):
        return False
    old = reminder.status
    reminder.status = "pending"
    reminder.send_at = now or utcnow()
    reminder.attempts = 0
    reminder.claimed_at = None
    reminder.handed_at = None
    reminder.last_error = None
    db.session.flush()
    audit.record("reminder.retried", "reminder", reminder.id, actor_id=actor_id,
                 group_id=reminder.group_id, previous=old)
    return True


# --- retention ----------------------------------------------------------------------------


def purge_contact_values(now: datetime) -> int:
    """Erase appointment contact values past `purge_after` (the start plus the group's
    retention days) in the current group, with the outbox's copies of them; pending
    reminders of them are cancelled."""
    gid = tenancy.require_group_id()
    group = db.session.get(PeerGroup, gid)
    assert group is not None
    fallback = now - timedelta(days=int(group.setting("retention_days")))
    due = list(db.session.scalars(
        select(Appointment).where(
            Appointment.contact_value.is_not(None),
            or_(Appointment.purge_after <= now,
                Appointment.purge_after.is_(None) & (Appointment.scheduled_at <= fallback)),
        )
    ))
    for appointment in due:
        appointment.contact_value = None
        # The outbox's copy of the number goes with it (the text, which names no one, stays).
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.reminder_id.in_(
                select(Reminder.id).where(Reminder.appointment_id == appointment.id)),
                OutboxMessage.recipient.is_not(None))
            .values(recipient=None)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            update(Reminder)
            .where(Reminder.appointment_id == appointment.id, Reminder.status == "pending")
            .values(status="cancelled", last_error="no_contact")
            .execution_options(synchronize_session=False)
        )
    db.session.flush()
    return len(due)
