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
from sqlalchemy import Engine, and_, create_engine, func, select
from sqlalchemy.engine import Connection

from ..extensions import db
from ..models import Department, PeerGroup, ReportSnapshot
from . import audit
from .reports import (
    _compute_shared,
    _contact_totals,
    _persons,
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


#: For this transaction only. JIT compilation costs about a second on these statements and
#: saves nothing (they are short scans and aggregates, not long expression loops); more
#: memory keeps the sorts and hashes of a month of contacts off the disk.
BATCH_SETTINGS = ("SET LOCAL jit = off", "SET LOCAL work_mem = '64MB'")

#: Around the persons statement only. Its input comes out of two indexes already in
#: (group_id, client_id) order, so a merge join of the month's persons with their clients
#: streams; but the planner, misjudging the two-column join, hashes every client of the
#: platform instead (measured at 10 million contacts: 1.5 s merged, 2.4-2.9 s hashed, and
#: worse in parallel, where each worker repeats the whole DISTINCT).
PERSONS_SETTINGS = ("SET LOCAL enable_hashjoin = off",
                    "SET LOCAL max_parallel_workers_per_gather = 0")
PERSONS_RESET = ("SET LOCAL enable_hashjoin TO DEFAULT",
                 "SET LOCAL max_parallel_workers_per_gather TO DEFAULT")


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

    postgres = conn.dialect.name == "postgresql"

    def settings(statements: Sequence[str]) -> None:
        if postgres:
            for statement in statements:
                conn.exec_driver_sql(statement)

    settings(BATCH_SETTINGS)
    for (tz, fy), ids in batches.items():
        part = {gid: empty_values() for gid in ids}
        start_utc, end_utc = _utc_bounds(start, end, tz)
        _contact_totals(run, part, ids, start, end)
        settings(PERSONS_SETTINGS)
        _persons(run, part, ids, start, end, fiscal_year_start(start, fy))
        settings(PERSONS_RESET)
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
