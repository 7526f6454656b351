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
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.engine import Connection

from ..extensions import db
from ..models import Department, PeerGroup, ReportSnapshot
from .reports import (
    Span,
    Values,
    closed_through,
    compute_set,
    earlier_figures,
    latest_versions,
    published_set,
    record_created,
    store_set,
    to_suppress,
)

#: Tables the reports role may read (SELECT only): what the indicators and the setup read.
REPORTS_ROLE_TABLES = ("peer_groups", "departments", "clients", "contacts", "referrals",
                       "appointments", "trainings", "attendances", "members", "test_results",
                       "commodities", "stock_cards", "stock_lines")


#: For this transaction only. JIT compilation costs about a second on these statements and
#: saves nothing (they are short scans and aggregates, not long expression loops); more
#: memory keeps the sorts and hashes of a month of contacts off the disk.
BATCH_SETTINGS = ("SET LOCAL jit = off", "SET LOCAL work_mem = '64MB'")

#: Around each persons, referrals and trainings statement. Their distinct persons come
#: from the period's slice of ix_contacts_group_id_occurred_on_client_live, each then
#: looked up in ix_clients_group_id_id_profile (index-only); the period's referrals come
#: from their date indexes, each probing its contact by primary key (is it deleted?); the
#: period's trainings from ix_trainings_group_id_starts_at, each probing its attended roll
#: calls in ix_attendances_group_id_training_id_attended. Left alone, the planner hashes
#: or merge-joins every client, scans every contact of the platform, or scans every
#: training and roll call (small tables, so a scan looks cheap) instead, a cost that
#: grows with each month of history (issue 22); index scans and a nested loop cost the
#: period's rows only.
PERSONS_SETTINGS = ("SET LOCAL enable_hashjoin = off", "SET LOCAL enable_mergejoin = off",
                    "SET LOCAL enable_seqscan = off",
                    "SET LOCAL max_parallel_workers_per_gather = 0")
PERSONS_RESET = ("SET LOCAL enable_hashjoin TO DEFAULT", "SET LOCAL enable_mergejoin TO DEFAULT",
                 "SET LOCAL enable_seqscan TO DEFAULT",
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
    strictest threshold along the department chain, the group's year start or else its
    department's)."""
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
    for gid, did, tz, fy in db.session.execute(
        select(PeerGroup.id, PeerGroup.department_id, PeerGroup.timezone,
               PeerGroup.fiscal_year_start_month)
        .where(PeerGroup.id.in_(list(group_ids)))
    ):
        own = departments.get(did)
        out[gid] = GroupSetup(gid, did, tz, fy or (own[2] if own else 1), strictest(did))
    return out


def compute_all(conn: Connection, setups: Sequence[GroupSetup], month: str,
                months: dict[int, str] | None = None) -> dict[int, dict[str, Values]]:
    """Every indicator of every period published when `month` closes (see
    `reports.published_set`), for every group in `setups`, on a connection allowed to read
    across groups: one batch of statements per (timezone, year start, month closed) triple,
    each statement bounded by one period's dates. `months` gives a group's own month to
    close where it differs (see `reports.closed_through`)."""
    months = {s.group_id: (months or {}).get(s.group_id, month) for s in setups}
    batches: dict[tuple[str, int, str], list[int]] = defaultdict(list)
    for setup in setups:
        batches[(setup.timezone, setup.fy_start_month, months[setup.group_id])].append(
            setup.group_id)
    out: dict[int, dict[str, Values]] = {}

    def run(stmt):  # type: ignore[no-untyped-def]
        return conn.execute(stmt).all()

    hints = None
    if conn.dialect.name == "postgresql":
        for statement in BATCH_SETTINGS:
            conn.exec_driver_sql(statement)

        def hints(on: bool) -> None:
            for statement in PERSONS_SETTINGS if on else PERSONS_RESET:
                conn.exec_driver_sql(statement)

    for (tz, fy, through), ids in batches.items():
        out.update(compute_set(run, ids, published_set(through, fy), tz=tz,
                               fy_start_month=fy, persons_hints=hints))
    return out


@dataclass(frozen=True)
class Outcome:
    group_id: int
    period: str
    snapshot_id: int
    version: int
    created: bool


def store_all(setups: dict[int, GroupSetup], values: dict[int, dict[str, Values]], month: str,
              reason: str, months: dict[int, str] | None = None) -> list[Outcome]:
    """Suppress and store each group's published set: a new version of a period only when
    what the department sees of it changed."""
    keys = sorted({key for by_key in values.values() for key in by_key})
    latest = latest_versions(list(values), keys)
    ids = {(gid, period): sid for gid, period, sid in db.session.execute(
        select(ReportSnapshot.group_id, ReportSnapshot.period, ReportSnapshot.id)
        .where(ReportSnapshot.group_id.in_(list(values)), ReportSnapshot.period.in_(keys))
        .order_by(ReportSnapshot.version))}  # the last id per key is the latest version's
    spans = {gid: published_set(months.get(gid, month) if months else month,
                                setups[gid].fy_start_month) for gid in values}
    # What earlier versions showed, for the groups whose set goes through the suppression
    # again (one statement for all of them; none on a run where nothing moved).
    keep = {gid: to_suppress(gid, setups[gid].department_id, spans[gid], values[gid],
                             setups[gid].threshold, latest) for gid in sorted(values)}
    changed = [gid for gid, kept in keep.items() if kept is not None]
    seen = earlier_figures(changed, keys, {gid: setups[gid].fy_start_month for gid in changed},
                           {gid: spans[gid][-1].through for gid in changed})
    stored: list[tuple[int, Span, ReportSnapshot | None]] = []
    for gid in sorted(values):
        setup = setups[gid]
        if keep[gid] is None:
            stored += [(gid, span, None) for span in spans[gid]]
            continue
        stored += [(gid, span, snap) for snap, span in store_set(
            gid, setup.department_id, spans[gid], values[gid], setup.threshold, reason, latest,
            record=False, seen=seen.get(gid, []), fy_start_month=setup.fy_start_month,
            keep=keep[gid])]
    # Every new version of every group in one flush (one multi-row INSERT), then their
    # audit events in another.
    record_created([snap for _, _, snap in stored if snap is not None])
    return [Outcome(gid, span.key, snap.id, snap.version, True) if snap is not None
            else Outcome(gid, span.key, ids[(gid, span.key)], latest[(gid, span.key)][0], False)
            for gid, span, snap in stored]


def build_snapshots(group_ids: Iterable[int], month: str, reason: str = "monthly",
                    engine: Engine | None = None) -> list[Outcome] | None:
    """Close `month` for every group in `group_ids` with set-based SQL: compute and store
    each group's published set (the month, its quarter and year to date, and the year's
    earlier periods, which late corrections may have changed).

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
    months: dict[int, str] = {}
    by_year: dict[int, list[int]] = defaultdict(list)
    for setup in setups.values():
        by_year[setup.fy_start_month].append(setup.group_id)
    for fy, ids in by_year.items():
        months.update(closed_through(ids, month, fy))
    with connection as conn:
        values = compute_all(conn, list(setups.values()), month, months)
        conn.rollback()
    return store_all(setups, values, month, reason, months)
