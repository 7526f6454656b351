"""Monthly indicator values: computed in SQL, suppressed, and frozen into versioned snapshots.

Group side: `compute_group` runs a handful of GROUP BY queries under the group's tenant
context (the ORM filter and RLS both apply); `build_snapshot` suppresses the values for the
department and stores a new version only when what the department would see has changed.
Department side (everything below "Department side"): reads snapshots only.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import and_, distinct, exists, func, or_, select
from sqlalchemy.orm import aliased

from .. import indicators, tenancy
from ..access import department_ancestor_ids, department_subtree_ids
from ..extensions import db
from ..indicators import TOTAL, UNKNOWN
from ..models import (
    Appointment,
    Attendance,
    Client,
    Contact,
    Department,
    Member,
    PeerGroup,
    Referral,
    ReportSnapshot,
    Target,
    Training,
)
from ..suppression import suppress_indicators
from . import audit

ONLINE_CHANNELS = ("zalo", "messenger", "phone")
SCHEMA_VERSION = 1


# --- periods ---------------------------------------------------------------------------------


def month_bounds(period: str) -> tuple[date, date]:
    """First day of the month YYYY-MM and first day of the next month."""
    year, month = (int(part) for part in period.split("-"))
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return start, end


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_month(day: date) -> str:
    return month_of(date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1))


def add_months(period: str, n: int) -> str:
    year, month = (int(part) for part in period.split("-"))
    index = year * 12 + month - 1 + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def fiscal_year_start(day: date, start_month: int) -> date:
    """The first day of the reporting year that contains `day`."""
    year = day.year if day.month >= start_month else day.year - 1
    return date(year, start_month, 1)


def local_now(tz: str) -> datetime:
    return datetime.now(ZoneInfo(tz))


def _utc_bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    return (datetime.combine(start, time(), zone).astimezone(UTC),
            datetime.combine(end, time(), zone).astimezone(UTC))


# --- computation (SQL only) ---------------------------------------------------------------------


def empty_values() -> dict[str, dict[str, int | float]]:
    return {i.code: dict.fromkeys(i.cells, 0) for i in indicators.CATALOGUE}


def _sex_age_cell(sex: str | None, band: str | None) -> str:
    cell = f"{sex}:{band}"
    return cell if cell in indicators.SEX_AGE_CELLS else UNKNOWN


def compute(group_ids: Sequence[int], period: str, *, tz: str, fy_start_month: int
            ) -> dict[int, dict[str, dict[str, int | float]]]:
    """Every indicator of `period` for each group in `group_ids`, in a few GROUP BY queries.

    Runs within one group's context (the per-group path: the tenant filter and RLS apply).
    The monthly job computes every group at once with `report_batch.compute_all`, which
    must give identical values (tests/reports/test_batch.py).
    """
    start, end = month_bounds(period)
    fy_start = fiscal_year_start(start, fy_start_month)
    start_utc, end_utc = _utc_bounds(start, end, tz)
    out = {gid: empty_values() for gid in group_ids}
    ids = list(group_ids)

    def run(stmt):  # type: ignore[no-untyped-def]
        return db.session.execute(stmt).all()

    _contact_totals(run, out, ids, start, end)
    _persons(run, out, ids, start, end, fy_start)
    _compute_shared(run, out, ids, start, end, start_utc, end_utc)
    return out


def _in_month(ids: list[int], start: date, end: date):  # type: ignore[no-untyped-def]
    return and_(Contact.group_id.in_(ids), Contact.deleted_at.is_(None),
                Contact.occurred_on >= start, Contact.occurred_on < end)


def _contact_totals(run, out: dict, ids: list[int], start: date, end: date  # type: ignore[no-untyped-def]
                    ) -> None:
    """Family 1 (contacts, sessions, participants, online contacts, commodities): one pass
    over the month's live contacts, GROUP BY group_id."""
    session = Contact.channel == "group_session"
    for row in run(
        select(
            Contact.group_id,
            func.count(),
            func.count().filter(session),
            func.coalesce(func.sum(Contact.participants_count).filter(session), 0),
            func.count().filter(Contact.channel.in_(ONLINE_CHANNELS)),
            func.coalesce(func.sum(Contact.condoms), 0),
            func.coalesce(func.sum(Contact.lubricants), 0),
            func.coalesce(func.sum(Contact.leaflets), 0),
            func.coalesce(func.sum(Contact.self_test_kits), 0),
        ).where(_in_month(ids, start, end)).group_by(Contact.group_id)
    ):
        v = out[row[0]]
        for code, value in zip(
            ("contacts", "group_sessions", "group_session_participants", "online_contacts",
             "condoms", "lubricants", "leaflets", "self_test_kits"), row[1:], strict=True
        ):
            v[code][TOTAL] = int(value)


def _persons(run, out: dict, ids: list[int], start: date, end: date,  # type: ignore[no-untyped-def]
             fy_start: date) -> None:
    """Family 2: unique individuals reached, and those reached for the first time this year,
    by sex and age band.

    The month's distinct (group, client) pairs come first, joined to their client. A client
    first met on or after the month's first day is new this year; any other is probed once
    for a live contact earlier in the year, an index-only lookup in
    ix_contacts_group_id_client_id_occurred_on_live (never a scan of the year's contacts).
    """
    persons = (
        select(Contact.group_id, Contact.client_id)
        .where(_in_month(ids, start, end), Contact.client_id.is_not(None))
        .distinct()
        .subquery("persons")
    )
    earlier = aliased(Contact, name="earlier")
    seen_before = exists().where(
        earlier.group_id == persons.c.group_id,
        earlier.client_id == persons.c.client_id,
        earlier.client_id.is_not(None),  # lets PostgreSQL use the partial index
        earlier.deleted_at.is_(None),
        earlier.occurred_on >= fy_start,
        earlier.occurred_on < start,
    )
    first_time = or_(Client.first_contact_on >= start, ~seen_before)
    for gid, sex, band, reached, first in run(
        select(persons.c.group_id, Client.sex, Client.age_band, func.count(),
               func.count().filter(first_time))
        .select_from(persons)
        .join(Client, and_(Client.group_id == persons.c.group_id,
                           Client.id == persons.c.client_id))
        .group_by(persons.c.group_id, Client.sex, Client.age_band)
    ):
        cell = _sex_age_cell(sex, band)
        for code, value in (("reached", reached), ("reached_first_time", first)):
            out[gid][code][cell] += int(value)
            out[gid][code][TOTAL] += int(value)


def _compute_shared(run, out: dict, ids: list[int], start: date, end: date,  # type: ignore[no-untyped-def]
                    start_utc: datetime, end_utc: datetime) -> None:
    """Families 3 to 6 (referrals, appointments, trainings, members), one GROUP BY group_id
    statement each. Like families 1 and 2 above, shared by the per-group path and the batch
    path (report_batch): one definition of every indicator."""
    live = Contact.deleted_at.is_(None)
    # 3. persons referred and persons whose referral was completed, by service
    person = func.coalesce(Referral.client_id, -Referral.id)  # no client code: one person
    referred = and_(Referral.referred_on >= start, Referral.referred_on < end)
    completed = and_(Referral.status == "completed", Referral.completed_on >= start,
                     Referral.completed_on < end)
    for gid, service, n_referred, n_completed in run(
        select(
            Referral.group_id, Referral.service,
            func.count(distinct(person)).filter(referred),
            func.count(distinct(person)).filter(completed),
        )
        .join(Contact, and_(Contact.group_id == Referral.group_id,
                            Contact.id == Referral.contact_id))
        .where(Referral.group_id.in_(ids), live, or_(referred, completed))
        .group_by(Referral.group_id, Referral.service)
    ):
        if service in out[gid]["referred"]:
            out[gid]["referred"][service] = int(n_referred)
            out[gid]["referral_completed"][service] = int(n_completed)

    # 4. appointments kept (scheduled in the month, in the group's local time)
    for gid, kept in run(
        select(Appointment.group_id, func.count())
        .where(Appointment.group_id.in_(ids), Appointment.status == "attended",
               Appointment.scheduled_at >= start_utc, Appointment.scheduled_at < end_utc)
        .group_by(Appointment.group_id)
    ):
        out[gid]["appointments_kept"][TOTAL] = int(kept)

    # 5. trainings held, their hours and distinct participants
    held = and_(Training.group_id.in_(ids), Training.status == "held",
                Training.starts_at >= start_utc, Training.starts_at < end_utc)
    for gid, n, minutes in run(
        select(Training.group_id, func.count(),
               func.coalesce(func.sum(Training.duration_minutes), 0))
        .where(held).group_by(Training.group_id)
    ):
        out[gid]["trainings_held"][TOTAL] = int(n)
        out[gid]["training_hours"][TOTAL] = round(int(minutes) / 60, 1)
    for gid, n in run(
        select(Attendance.group_id, func.count(distinct(Attendance.member_id)))
        .join(Training, and_(Training.group_id == Attendance.group_id,
                             Training.id == Attendance.training_id))
        .where(held, Attendance.status == "attended")
        .group_by(Attendance.group_id)
    ):
        out[gid]["training_participants"][TOTAL] = int(n)

    # 6. active members and peer educators
    active = and_(
        Member.group_id.in_(ids),
        or_(Member.joined_on.is_(None), Member.joined_on < end),
        or_(Member.left_on.is_(None), Member.left_on >= start),
        ~and_(Member.status == "left", Member.left_on.is_(None)),
        ~and_(Member.status == "paused", or_(Member.paused_on.is_(None),
                                             Member.paused_on < start)),
    )
    for gid, members, peers in run(
        select(Member.group_id, func.count(),
               func.count().filter(Member.role_in_group == "peer_educator"))
        .where(active).group_by(Member.group_id)
    ):
        out[gid]["active_members"][TOTAL] = int(members)
        out[gid]["active_peer_educators"][TOTAL] = int(peers)


def _group_setup(group: PeerGroup) -> tuple[int, int]:
    """(suppression threshold, fiscal year start month) that apply to a group's reports.

    The threshold is the strictest along the department chain: every ancestor sees the
    same snapshots.
    """
    chain = department_ancestor_ids(group.department_id)
    k = db.session.scalar(
        select(func.max(Department.suppression_threshold)).where(Department.id.in_(chain))
    )
    own = db.session.get(Department, group.department_id)
    return max(int(k or 5), 1), (own.fiscal_year_start_month if own else 1)


def compute_group(group_id: int, period: str) -> dict[str, dict[str, int | float]]:
    """The unsuppressed values of one group-month (the coordinator's preview)."""
    group = db.session.get(PeerGroup, group_id)
    assert group is not None
    _, fy = _group_setup(group)
    with tenancy.group_context(group_id):
        return compute([group_id], period, tz=group.timezone, fy_start_month=fy)[group_id]


# --- snapshots -------------------------------------------------------------------------------


def canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def checksum(payload: dict) -> str:
    return hashlib.sha256(canonical(payload)).hexdigest()


def latest_snapshot(group_id: int, period: str) -> ReportSnapshot | None:
    return db.session.scalar(
        select(ReportSnapshot)
        .where(ReportSnapshot.group_id == group_id, ReportSnapshot.period == period)
        .order_by(ReportSnapshot.version.desc())
        .limit(1)
    )


def snapshot_payload(raw: dict[str, dict[str, int | float]], period: str, k: int) -> dict:
    return {"schema": SCHEMA_VERSION, "period": period, "threshold": k,
            "values": suppress_indicators(raw, k)}


def store_snapshot(group: PeerGroup, period: str, payload: dict, reason: str
                   ) -> tuple[ReportSnapshot, bool]:
    """Write `payload` as the next version unless it equals the latest one."""
    digest = checksum(payload)
    latest = latest_snapshot(group.id, period)
    if latest is not None and latest.checksum == digest \
            and latest.department_id == group.department_id:
        return latest, False
    snapshot = ReportSnapshot(
        department_id=group.department_id, group_id=group.id, period=period,
        version=(latest.version + 1) if latest else 1, payload=payload, checksum=digest,
        reason=reason,
    )
    db.session.add(snapshot)
    db.session.flush()
    audit.record("report.snapshot_created", "report_snapshot", snapshot.id,
                 group_id=group.id, department_id=group.department_id,
                 period=period, version=snapshot.version)
    return snapshot, True


def build_snapshot(group_id: int, period: str, reason: str = "monthly"
                   ) -> tuple[ReportSnapshot, bool]:
    """Compute, suppress and store one group-month; returns (snapshot, created)."""
    group = db.session.get(PeerGroup, group_id)
    if group is None:
        raise ValueError("unknown group")
    k, _ = _group_setup(group)
    raw = compute_group(group_id, period)
    return store_snapshot(group, period, snapshot_payload(raw, period, k), reason)


def group_snapshots(group_id: int, limit: int = 60) -> list[ReportSnapshot]:
    """What was sent for a group, newest period and version first (the coordinator's view)."""
    return list(db.session.scalars(
        select(ReportSnapshot).where(ReportSnapshot.group_id == group_id)
        .order_by(ReportSnapshot.period.desc(), ReportSnapshot.version.desc()).limit(limit)
    ))


def groups_due(now_utc: datetime) -> list[tuple[int, str]]:
    """(group id, previous month) of every active group whose local time is day 1, 02:xx,
    plus groups whose previous month has no snapshot yet once that hour has passed (a
    worker that was down at 02:00 catches up)."""
    due: list[tuple[int, str]] = []
    groups = db.session.execute(
        select(PeerGroup.id, PeerGroup.timezone).where(PeerGroup.is_active.is_(True))
    ).all()
    candidates = {previous_month(now_utc.date()), previous_month(date(now_utc.year,
                                                                     now_utc.month, 28))}
    candidates |= {add_months(p, 1) for p in candidates} | {add_months(p, -1) for p in candidates}
    reported = {
        (gid, period) for gid, period in db.session.execute(
            select(ReportSnapshot.group_id, ReportSnapshot.period)
            .where(ReportSnapshot.period.in_(sorted(candidates))).distinct()
        )
    }
    for gid, tz in groups:
        local = now_utc.astimezone(ZoneInfo(tz))
        period = previous_month(local.date())
        if local.day == 1 and local.hour == 2 or (
            (local.day > 1 or local.hour > 2) and (gid, period) not in reported
        ):
            due.append((gid, period))
    return due


# --- Department side: snapshots only ----------------------------------------------------------


@dataclass
class Cell:
    """A department sum: the published values added up, and how many were suppressed."""

    value: float = 0
    suppressed: int = 0
    reports: int = 0

    def add(self, value: int | float | None) -> None:
        self.reports += 1
        if value is None:
            self.suppressed += 1
        else:
            self.value += value

    @property
    def display(self) -> str:
        if self.reports and self.suppressed == self.reports:
            return "x"
        number = f"{self.value:g}" if isinstance(self.value, float) else str(self.value)
        return number + ("+" if self.suppressed else "")


@dataclass
class Totals:
    """Indicator sums over a set of snapshots."""

    cells: dict[str, dict[str, Cell]] = field(default_factory=dict)

    def add(self, values: dict) -> None:
        for code, cells in values.items():
            target = self.cells.setdefault(code, {})
            for key, value in cells.items():
                target.setdefault(key, Cell()).add(value)

    def headline(self, code: str) -> Cell:
        """The total of an indicator (services add up their cells)."""
        indicator = indicators.BY_CODE[code]
        cells = self.cells.get(code, {})
        if indicator.has_total:
            return cells.get(TOTAL, Cell())
        out = Cell()
        for cell in cells.values():
            out.value += cell.value
            out.suppressed += cell.suppressed
            out.reports = max(out.reports, cell.reports)
        if out.reports and out.suppressed and not out.value:
            out.reports = out.suppressed  # everything hidden: show as suppressed
        return out


def period_months(spec: str, fy_start_month: int = 1) -> list[str]:
    """Months of a period spec: YYYY-MM, YYYY-Qn (calendar quarter) or YYYY (reporting year
    starting in `fy_start_month` of that year)."""
    if len(spec) == 7 and spec[4] == "-" and spec[5:].isdigit():
        month_bounds(spec)  # validates
        return [spec]
    if len(spec) == 7 and spec[4:6] == "-Q" and spec[6] in "1234" and spec[:4].isdigit():
        first = f"{spec[:4]}-{(int(spec[6]) - 1) * 3 + 1:02d}"
        return [add_months(first, i) for i in range(3)]
    if len(spec) == 4 and spec.isdigit():
        first = f"{spec}-{fy_start_month:02d}"
        return [add_months(first, i) for i in range(12)]
    raise ValueError("bad period")


def subtree_groups_stmt(department_id: int):  # type: ignore[no-untyped-def]
    """The groups of the department's subtree, by name (then id, for stable pages)."""
    return (
        select(PeerGroup).where(PeerGroup.department_id.in_(department_subtree_ids(department_id)))
        .order_by(PeerGroup.name, PeerGroup.id)
    )


def subtree_groups_head(department_id: int, limit: int) -> tuple[list[PeerGroup], int]:
    """The first `limit` groups of the subtree by name, and how many there are in all."""
    stmt = subtree_groups_stmt(department_id)  # walks the department tree once
    count = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return list(db.session.scalars(stmt.limit(limit))), count


def subtree_groups(department_id: int) -> list[PeerGroup]:
    return list(db.session.scalars(subtree_groups_stmt(department_id)))


def current_snapshots(department_id: int, months: Sequence[str],
                      group_ids: Sequence[int] | None = None) -> list[ReportSnapshot]:
    """The latest version of each group-month sent to the department's subtree (only of
    `group_ids` when given)."""
    subtree = department_subtree_ids(department_id)
    newest = (
        select(ReportSnapshot.group_id, ReportSnapshot.period,
               func.max(ReportSnapshot.version).label("version"))
        .where(ReportSnapshot.department_id.in_(subtree), ReportSnapshot.period.in_(list(months)))
        .group_by(ReportSnapshot.group_id, ReportSnapshot.period)
    )
    if group_ids is not None:
        newest = newest.where(ReportSnapshot.group_id.in_(list(group_ids)))
    newest_sq = newest.subquery()
    return list(db.session.scalars(
        select(ReportSnapshot).join(
            newest_sq,
            and_(ReportSnapshot.group_id == newest_sq.c.group_id,
                 ReportSnapshot.period == newest_sq.c.period,
                 ReportSnapshot.version == newest_sq.c.version),
        ).where(ReportSnapshot.department_id.in_(subtree))
    ))


def totals(snapshots: Iterable[ReportSnapshot]) -> Totals:
    out = Totals()
    for snapshot in snapshots:
        out.add(snapshot.payload.get("values", {}))
    return out


def totals_by_group(snapshots: Iterable[ReportSnapshot]) -> dict[int, Totals]:
    out: dict[int, Totals] = defaultdict(Totals)
    for snapshot in snapshots:
        out[snapshot.group_id].add(snapshot.payload.get("values", {}))
    return out


def monthly_series(snapshots: Iterable[ReportSnapshot], months: Sequence[str]
                   ) -> dict[str, dict[str, Cell]]:
    """headline value per indicator per month."""
    by_month: dict[str, Totals] = defaultdict(Totals)
    for snapshot in snapshots:
        by_month[snapshot.period].add(snapshot.payload.get("values", {}))
    return {
        i.code: {m: by_month[m].headline(i.code) if m in by_month else Cell() for m in months}
        for i in indicators.CATALOGUE
    }


def completeness(department_id: int, months: Sequence[str]) -> dict[int, dict[str, int | None]]:
    """For every group of the subtree: the current version number per month, or None."""
    subtree = department_subtree_ids(department_id)
    rows = db.session.execute(
        select(ReportSnapshot.group_id, ReportSnapshot.period, func.max(ReportSnapshot.version))
        .where(ReportSnapshot.department_id.in_(subtree), ReportSnapshot.period.in_(list(months)))
        .group_by(ReportSnapshot.group_id, ReportSnapshot.period)
    ).all()
    out: dict[int, dict[str, int | None]] = defaultdict(lambda: dict.fromkeys(months))
    for gid, period, version in rows:
        out[gid][period] = version
    return out


def history(department_id: int, group_id: int, period: str) -> list[ReportSnapshot]:
    return list(db.session.scalars(
        select(ReportSnapshot)
        .where(ReportSnapshot.department_id.in_(department_subtree_ids(department_id)),
               ReportSnapshot.group_id == group_id, ReportSnapshot.period == period)
        .order_by(ReportSnapshot.version.desc())
    ))


def targets(department_id: int, year: int) -> dict[str, int]:
    return {
        t.indicator: t.value for t in db.session.scalars(
            select(Target).where(Target.department_id == department_id, Target.year == year)
        )
    }


def set_targets(department_id: int, year: int, values: dict[str, int | None]) -> None:
    existing = {
        t.indicator: t for t in db.session.scalars(
            select(Target).where(Target.department_id == department_id, Target.year == year)
        )
    }
    for code, value in values.items():
        if code not in indicators.BY_CODE:
            continue
        row = existing.get(code)
        if value is None:
            if row is not None:
                db.session.delete(row)
        elif row is None:
            db.session.add(Target(department_id=department_id, indicator=code, year=year,
                                  value=value))
        else:
            row.value = value
    db.session.flush()
    audit.record("report.targets_set", "department", department_id,
                 department_id=department_id, year=year)

