"""The monthly job for many groups at once: set-based SQL, then one snapshot per group.

The per-group path (`reports.build_snapshot`, under the group's tenant context) stays the
reference: the coordinator's preview, a manager's refresh and the tests use it. The monthly
job computes every group of a month with a handful of statements (GROUP BY group_id over all
groups), which must give identical values (tests/reports/test_batch.py compares every cell).

Tenancy. Those statements read group-owned tables across groups, so on PostgreSQL they need a
connection that row-level security lets through. They run on a **second engine** bound to
`REPORTS_DATABASE_URL`: a narrow role made by `flask db-reports-role` (LOGIN, BYPASSRLS,
SELECT on the tables the indicators read and nothing else, no write right anywhere), opened
read-only. It is used here only, from the worker; request code never sees it, and what leaves
this module is counts per group, never rows. When `REPORTS_DATABASE_URL` is unset (or on
SQLite without it), the job falls back to the per-group path. Snapshots are written through
the normal session (report_snapshots is on the department's side of the wall).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Engine, and_, create_engine, exists, func, select
from sqlalchemy.engine import Connection

from ..extensions import db
from ..indicators import TOTAL
from ..models import Client, Contact, Department, PeerGroup, ReportSnapshot
from . import audit
from .reports import (
    ONLINE_CHANNELS,
    _compute_shared,
    _sex_age_cell,
    _utc_bounds,
    checksum,
    empty_values,
    fiscal_year_start,
    month_bounds,
    snapshot_payload,
)

Values = dict[str, dict[str, int | float]]

#: Tables the reports role may read (SELECT only): what the indicators and the setup read.
REPORTS_ROLE_TABLES = ("peer_groups", "departments", "clients", "contacts", "referrals",
                       "appointments", "trainings", "attendances", "members")


@dataclass(frozen=True)
class GroupSetup:
    """What applies to one group's report: timezone, reporting year, suppression threshold."""

    group_id: int
    department_id: int
    timezone: str
    fy_start_month: int
    threshold: int


def reports_engine() -> Engine | None:
    """The cross-group read engine from REPORTS_DATABASE_URL, or None (per-group fallback)."""
    url = current_app.config.get("REPORTS_DATABASE_URL")
    if not url:
        return None
    engines: dict[str, Engine] = current_app.extensions.setdefault("harmnet_reports_engine", {})
    if url not in engines:
        engines[url] = create_engine(url, pool_pre_ping=True, pool_size=1, max_overflow=1)
    return engines[url]


def group_setups(group_ids: Iterable[int]) -> dict[int, GroupSetup]:
    """Setups of many groups in two statements (same rules as `reports._group_setup`: the
    strictest threshold along the department chain, the own department's year start)."""
    departments = {
        did: (parent, k, fy) for did, parent, k, fy in db.session.execute(
            select(Department.id, Department.parent_id, Department.suppression_threshold,
                   Department.fiscal_year_start_month))
    }

    def strictest(did: int) -> int:
        best: int | None = None
        seen: set[int] = set()
        node: int | None = did
        while node is not None and node in departments and node not in seen:
            seen.add(node)
            parent, k, _ = departments[node]
            if k is not None:
                best = k if best is None else max(best, k)
            node = parent
        return max(int(best or 5), 1)

    out: dict[int, GroupSetup] = {}
    for gid, did, tz in db.session.execute(
        select(PeerGroup.id, PeerGroup.department_id, PeerGroup.timezone)
        .where(PeerGroup.id.in_(list(group_ids)))
    ):
        own = departments.get(did)
        out[gid] = GroupSetup(gid, did, tz, own[2] if own else 1, strictest(did))
    return out


def _contacts_and_persons(run, out: dict[int, Values], ids: list[int], start, end,  # type: ignore[no-untyped-def]
                          fy_start) -> None:
    """Families 1 and 2 in one statement: one pass over the month's contacts, grouped by
    (group, client); the 'seen earlier this year' check is a semi-join of those persons
    against the year's earlier contacts; then one row per (group, sex, age band)."""
    session = Contact.channel == "group_session"
    per_client = (
        select(
            Contact.group_id.label("group_id"),
            Contact.client_id.label("client_id"),
            func.count().label("n"),
            func.count().filter(session).label("sessions"),
            func.coalesce(func.sum(Contact.participants_count).filter(session), 0)
            .label("participants"),
            func.count().filter(Contact.channel.in_(ONLINE_CHANNELS)).label("online"),
            func.coalesce(func.sum(Contact.condoms), 0).label("condoms"),
            func.coalesce(func.sum(Contact.lubricants), 0).label("lubricants"),
            func.coalesce(func.sum(Contact.leaflets), 0).label("leaflets"),
            func.coalesce(func.sum(Contact.self_test_kits), 0).label("kits"),
        )
        .where(Contact.group_id.in_(ids), Contact.deleted_at.is_(None),
               Contact.occurred_on >= start, Contact.occurred_on < end)
        .group_by(Contact.group_id, Contact.client_id)
        .cte("per_client").prefix_with("MATERIALIZED")
    )
    earlier = Contact.__table__.alias("earlier")
    seen = (
        select(per_client.c.group_id, per_client.c.client_id)
        .where(per_client.c.client_id.is_not(None), exists().where(
            earlier.c.group_id == per_client.c.group_id,
            earlier.c.client_id == per_client.c.client_id,
            earlier.c.deleted_at.is_(None),
            earlier.c.occurred_on >= fy_start,
            earlier.c.occurred_on < start,
        ))
        .cte("seen")
    )
    p = per_client.c
    clients = Client.__table__
    stmt = (
        select(
            p.group_id, clients.c.sex, clients.c.age_band,
            func.sum(p.n), func.sum(p.sessions), func.sum(p.participants), func.sum(p.online),
            func.sum(p.condoms), func.sum(p.lubricants), func.sum(p.leaflets), func.sum(p.kits),
            func.count(p.client_id),
            func.count(p.client_id).filter(seen.c.client_id.is_(None)),
        )
        .select_from(per_client)
        .outerjoin(clients, and_(clients.c.group_id == p.group_id, clients.c.id == p.client_id))
        .outerjoin(seen, and_(seen.c.group_id == p.group_id, seen.c.client_id == p.client_id))
        .group_by(p.group_id, clients.c.sex, clients.c.age_band)
    )
    codes = ("contacts", "group_sessions", "group_session_participants", "online_contacts",
             "condoms", "lubricants", "leaflets", "self_test_kits")
    for gid, sex, band, *sums, reached, first in run(stmt):
        values = out[gid]
        for code, value in zip(codes, sums, strict=True):
            values[code][TOTAL] += int(value or 0)
        if reached:
            cell = _sex_age_cell(sex, band)
            for code, value in (("reached", reached), ("reached_first_time", first)):
                values[code][cell] += int(value)
                values[code][TOTAL] += int(value)


def compute_all(conn: Connection, setups: Sequence[GroupSetup], period: str
                ) -> dict[int, Values]:
    """Every indicator of `period` for every group in `setups`, on a connection allowed to
    read across groups: one batch of statements per (timezone, year start) pair."""
    batches: dict[tuple[str, int], list[int]] = defaultdict(list)
    for setup in setups:
        batches[(setup.timezone, setup.fy_start_month)].append(setup.group_id)
    start, end = month_bounds(period)
    out: dict[int, Values] = {}

    def run(stmt):  # type: ignore[no-untyped-def]
        return conn.execute(stmt).all()

    for (tz, fy), ids in batches.items():
        part = {gid: empty_values() for gid in ids}
        start_utc, end_utc = _utc_bounds(start, end, tz)
        _contacts_and_persons(run, part, ids, start, end, fiscal_year_start(start, fy))
        _compute_shared(run, part, ids, start, end, start_utc, end_utc)
        out.update(part)
    return out


@dataclass(frozen=True)
class Outcome:
    group_id: int
    snapshot_id: int
    version: int
    created: bool


def store_all(setups: dict[int, GroupSetup], values: dict[int, Values], period: str,
              reason: str) -> list[Outcome]:
    """Suppress and store each group's values: a new version only when they changed."""
    newest = (
        select(ReportSnapshot.group_id, func.max(ReportSnapshot.version).label("version"))
        .where(ReportSnapshot.period == period, ReportSnapshot.group_id.in_(list(values)))
        .group_by(ReportSnapshot.group_id).subquery()
    )
    latest = {
        gid: (sid, version, digest, did) for gid, sid, version, digest, did in db.session.execute(
            select(ReportSnapshot.group_id, ReportSnapshot.id, ReportSnapshot.version,
                   ReportSnapshot.checksum, ReportSnapshot.department_id)
            .join(newest, and_(newest.c.group_id == ReportSnapshot.group_id,
                               newest.c.version == ReportSnapshot.version))
            .where(ReportSnapshot.period == period)
        )
    }
    outcomes: list[Outcome] = []
    fresh: list[ReportSnapshot] = []
    for gid in sorted(values):
        setup = setups[gid]
        payload = snapshot_payload(values[gid], period, setup.threshold)
        digest = checksum(payload)
        previous = latest.get(gid)
        if previous is not None and previous[2] == digest and previous[3] == setup.department_id:
            outcomes.append(Outcome(gid, previous[0], previous[1], False))
            continue
        snapshot = ReportSnapshot(
            department_id=setup.department_id, group_id=gid, period=period,
            version=previous[1] + 1 if previous else 1, payload=payload, checksum=digest,
            reason=reason)
        db.session.add(snapshot)
        fresh.append(snapshot)
    if fresh:
        db.session.flush()
        for snapshot in fresh:
            audit.record("report.snapshot_created", "report_snapshot", snapshot.id,
                         group_id=snapshot.group_id, department_id=snapshot.department_id,
                         period=period, version=snapshot.version)
            outcomes.append(Outcome(snapshot.group_id, snapshot.id, snapshot.version, True))
    return outcomes


def build_snapshots(group_ids: Iterable[int], period: str, reason: str = "monthly",
                    engine: Engine | None = None) -> list[Outcome] | None:
    """Compute and store `period` for every group in `group_ids` with set-based SQL.

    Returns None when no cross-group engine is configured (the caller then uses the
    per-group path). Flushes, never commits.
    """
    engine = engine or reports_engine()
    if engine is None:
        return None
    setups = group_setups(group_ids)
    if not setups:
        return []
    connection = engine.connect()
    if connection.dialect.name == "postgresql":
        connection = connection.execution_options(postgresql_readonly=True)
    with connection as conn:
        values = compute_all(conn, list(setups.values()), period)
        conn.rollback()
    return store_all(setups, values, period, reason)
