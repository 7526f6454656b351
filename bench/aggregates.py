"""Monthly aggregates at scale: the monthly job for every group, against one hand-written
GROUP BY over the same rows, and the department dashboard's render time.

Run against a database made by bench/generate.py (owner URL), e.g. (about a minute):

    .venv/bin/python bench/generate.py --groups 200 --contacts 1000000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench_agg --seed 1
    .venv/bin/python bench/aggregates.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench_agg

Full scale (the issue's figures; generating takes several minutes):

    .venv/bin/python bench/generate.py --groups 1000 --contacts 10000000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench --seed 1
    .venv/bin/python bench/aggregates.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench

The URL names a superuser: the script first runs `flask db-reports-role`'s grant
(`harmnet_reports`: LOGIN, BYPASSRLS, SELECT on the indicator tables only) and points the
job's REPORTS_DATABASE_URL at it, as a production worker would be configured.

It prints:
- baseline A, the peer: ONE hand-written SQL statement (`SAME_INDICATORS_SQL`), as the
  owner, that computes the indicators the job derives from the month's contacts and
  referrals (families 1 to 3: totals and commodities, persons reached and reached for the
  first time this year by sex and age band, persons referred and completed by service);
  its figures are checked against the job's before timing;
- baseline B, the floor: ONE hand-written GROUP BY over the same rows computing 3 of the 18
  indicators (per group the live contacts of the month and the distinct clients reached,
  per group and service the referrals made in the month), with no sex/age disaggregation,
  no "first time this year", no completions, appointments, trainings or members, no
  suppression and no writes: what reading the month's rows costs at the least;
- the monthly job as it runs in the worker (`report_batch.build_snapshots` for all groups:
  every indicator of every group in set-based statements through the reports role, then
  suppression, checksums and one snapshot per group, commit): first run (writes a version
  per group unless the month was already stored), then runs with values unchanged (no
  writes); its SQL part alone (`compute_all`) is printed too;
- ratios of the job to baseline A (target <= 1.5) and to the floor B, and the job's time
  (target < 60 s);
- with --per-group, also the old path: one `build_snapshot` per group under its tenant
  context as the app role (what runs without REPORTS_DATABASE_URL); slow at full scale;
- the department dashboard's render time (root department, month and year; target
  < 300 ms), as the app role with RLS on.

Times are medians of --repeat runs (baselines and job alternate, warm cache). Both
baselines run with the job's transaction settings (JIT off, work_mem 64 MB).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.settings import BENCH_ENV, PASSWORD, app_url, libpq_url  # noqa: E402

BASELINE_SQL = """
WITH c AS (
    SELECT group_id, COUNT(*) AS contacts, COUNT(DISTINCT client_id) AS reached
    FROM contacts
    WHERE deleted_at IS NULL AND occurred_on >= %(start)s AND occurred_on < %(end)s
    GROUP BY group_id
), r AS (
    SELECT group_id, service, COUNT(*) AS referrals
    FROM referrals
    WHERE referred_on >= %(start)s AND referred_on < %(end)s
    GROUP BY group_id, service
)
SELECT c.group_id, c.contacts, c.reached, r.service, r.referrals
FROM c LEFT JOIN r ON r.group_id = c.group_id
"""
#: The same indicators as families 1 to 3 of the job (every figure computed from the
#: month's contacts and referrals: contacts, sessions, participants, online contacts,
#: commodities; persons reached and reached for the first time this year by sex and age
#: band; persons referred and completed by service), written by hand as one statement, the
#: way a DBA would answer "give me this month's figures" without the application.
SAME_INDICATORS_SQL = """
WITH totals AS (
    SELECT group_id, 'total' AS kind, NULL AS sex, NULL AS age_band,
           COUNT(*) AS contacts,
           COUNT(*) FILTER (WHERE channel = 'group_session') AS sessions,
           SUM(participants_count) FILTER (WHERE channel = 'group_session') AS participants,
           COUNT(*) FILTER (WHERE channel IN ('zalo', 'messenger', 'phone')) AS online,
           SUM(condoms) AS condoms, SUM(lubricants) AS lubricants, SUM(leaflets) AS leaflets,
           SUM(self_test_kits) AS kits
    FROM contacts
    WHERE deleted_at IS NULL AND occurred_on >= %(start)s AND occurred_on < %(end)s
    GROUP BY group_id
), persons AS (
    SELECT DISTINCT group_id, client_id FROM contacts
    WHERE deleted_at IS NULL AND client_id IS NOT NULL
      AND occurred_on >= %(start)s AND occurred_on < %(end)s
), reached AS (
    SELECT p.group_id, 'reached', cl.sex, cl.age_band, COUNT(*),
           COUNT(*) FILTER (WHERE NOT EXISTS (
               SELECT 1 FROM contacts e
               WHERE e.group_id = p.group_id AND e.client_id = p.client_id
                 AND e.client_id IS NOT NULL AND e.deleted_at IS NULL
                 AND e.occurred_on >= %(fy_start)s AND e.occurred_on < %(start)s)),
           NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint
    FROM persons p JOIN clients cl ON cl.group_id = p.group_id AND cl.id = p.client_id
    GROUP BY p.group_id, cl.sex, cl.age_band
), referred AS (
    SELECT r.group_id, r.service, NULL, NULL,
           COUNT(DISTINCT COALESCE(r.client_id, -r.id)) FILTER (
               WHERE r.referred_on >= %(start)s AND r.referred_on < %(end)s),
           COUNT(DISTINCT COALESCE(r.client_id, -r.id)) FILTER (
               WHERE r.status = 'completed' AND r.completed_on >= %(start)s
                 AND r.completed_on < %(end)s),
           NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint
    FROM referrals r JOIN contacts c ON c.group_id = r.group_id AND c.id = r.contact_id
    WHERE c.deleted_at IS NULL
      AND ((r.referred_on >= %(start)s AND r.referred_on < %(end)s)
           OR (r.status = 'completed' AND r.completed_on >= %(start)s
               AND r.completed_on < %(end)s))
    GROUP BY r.group_id, r.service
)
SELECT * FROM totals UNION ALL SELECT * FROM reached UNION ALL SELECT * FROM referred
"""

#: The job's transaction settings (report_batch.BATCH_SETTINGS), given to the hand-written
#: statements too: JIT alone would add about a second to each. The job's join hints around
#: its persons statement (PERSONS_SETTINGS) are not given: they would slow A's referrals
#: part, and a hand-written statement is planned as written.
BASELINE_SETTINGS = ("SET jit = off", "SET work_mem = '64MB'")

REPORTS_ROLE = "harmnet_reports"


def make_app(url: str, reports_url: str | None = None):  # type: ignore[no-untyped-def]
    from config import ProductionConfig

    for key, value in BENCH_ENV.items():
        os.environ.setdefault(key, value)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
    from harmnet import create_app

    cfg = ProductionConfig()
    cfg.SESSION_COOKIE_SECURE = False
    cfg.RATELIMIT_STORAGE_URI = "memory://"
    cfg.CELERY = dict(cfg.CELERY, task_always_eager=True, broker_url="memory://")
    cfg.REPORTS_DATABASE_URL = reports_url and reports_url.replace(
        "postgresql://", "postgresql+psycopg://", 1)
    return create_app(cfg)


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def job_path(app, period: str) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from harmnet.extensions import db
    from harmnet.models import PeerGroup
    from harmnet.services import reports

    with app.app_context():
        ids = list(db.session.scalars(select(PeerGroup.id).order_by(PeerGroup.id)))

        def run() -> int:
            created = 0
            for gid in ids:  # one task body per group, as the fan-out runs them
                created += reports.build_snapshot(gid, period, "refresh")[1]
                db.session.commit()
            return created

        seconds, created = timed(run)
        db.session.remove()
    return seconds, created


def batched_path(app, period: str) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """The monthly job for all groups: (whole job s, its SQL part s, new versions)."""
    from sqlalchemy import select

    from harmnet import tenancy
    from harmnet.extensions import db
    from harmnet.models import PeerGroup
    from harmnet.services import report_batch

    # The report jobs' context, as the worker's task runs it (row-level security admits
    # the department-level tables: snapshots, audit events).
    with app.app_context(), tenancy.reports_context():
        ids = list(db.session.scalars(select(PeerGroup.id).order_by(PeerGroup.id)))
        db.session.rollback()

        def run() -> int:
            outcomes = report_batch.build_snapshots(ids, period, "refresh")
            assert outcomes is not None, "REPORTS_DATABASE_URL is not set"
            db.session.commit()
            return sum(o.created for o in outcomes)

        seconds, created = timed(run)
        setups = list(report_batch.group_setups(ids).values())
        with report_batch.reports_engine().connect() as conn:
            sql_s, _ = timed(lambda: report_batch.compute_all(conn, setups, period))
        db.session.remove()
    return seconds, sql_s, created


def set_statement(period: str) -> str:
    """Baseline A over the published set: SAME_INDICATORS_SQL for every period the job
    writes when `period` closes (each month of the year so far, each quarter to date, the
    year to date), as ONE statement (UNION ALL, a column naming the period). For a quarter
    or year it computes the same figures by hand over the whole stretch, as a DBA would."""
    from harmnet.services.reports import fiscal_year_start, published_set

    parts = []
    for span in published_set(period, 1):
        start, end = span.bounds
        fy = fiscal_year_start(start, 1)
        sql = SAME_INDICATORS_SQL
        for name, value in (("start", start), ("end", end), ("fy_start", fy)):
            sql = sql.replace(f"%({name})s", f"DATE '{value.isoformat()}'")
        sql = sql.replace("WITH totals AS", "WITH totals AS", 1)
        parts.append(f"SELECT '{span.key}' AS span, * FROM ({sql}) AS s_{len(parts)}")
    return "\nUNION ALL\n".join(parts)


def baseline(owner_url: str, period: str, sql: str = BASELINE_SQL) -> tuple[float, int]:
    import psycopg

    from harmnet.services.reports import fiscal_year_start, month_bounds

    start, end = month_bounds(period)
    params = {"start": start, "end": end, "fy_start": fiscal_year_start(start, 1)}
    with psycopg.connect(libpq_url(owner_url)) as conn:
        for setting in BASELINE_SETTINGS:
            conn.execute(setting)
        if "%(" in sql:
            seconds, rows = timed(lambda: conn.execute(sql, params).fetchall())
        else:
            seconds, rows = timed(lambda: conn.execute(sql).fetchall())
    return seconds, len(rows)


def check_same(app, owner_url: str, period: str) -> None:  # type: ignore[no-untyped-def]
    """Baseline A must be a peer: its totals equal the job's, group by group."""
    import psycopg
    from sqlalchemy import select

    from harmnet.extensions import db
    from harmnet.models import PeerGroup
    from harmnet.services import report_batch
    from harmnet.services.reports import fiscal_year_start, month_bounds

    start, end = month_bounds(period)
    params = {"start": start, "end": end, "fy_start": fiscal_year_start(start, 1)}
    mine: dict[int, list[int]] = {}
    with psycopg.connect(libpq_url(owner_url)) as conn:
        for gid, kind, _sex, _band, a, b, *_ in conn.execute(SAME_INDICATORS_SQL, params):
            figures = mine.setdefault(gid, [0, 0, 0, 0])
            if kind == "total":
                figures[0] += a
            elif kind == "reached":
                figures[1] += a
                figures[2] += b
            else:
                figures[3] += a
    with app.app_context():
        ids = list(db.session.scalars(select(PeerGroup.id)))
        setups = list(report_batch.group_setups(ids).values())
        assert all(s.fy_start_month == 1 for s in setups), "baseline A assumes calendar years"
        with report_batch.reports_engine().connect() as conn:
            values = report_batch.compute_all(conn, setups, period)
        db.session.remove()
    for gid, by_key in values.items():
        v = by_key[period]
        job = [v["contacts"]["total"], v["reached"]["total"], v["reached_first_time"]["total"],
               sum(v["referred"].values())]
        assert mine.get(gid, [0, 0, 0, 0]) == job, (gid, mine.get(gid), job)
    print(f"baseline A gives the job's figures for all {len(values)} groups (contacts, "
          f"reached, reached first time, referred)")


def dashboard(app, period: str, runs: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from harmnet.extensions import db
    from harmnet.models import Department
    from tests.support import login

    with app.app_context():
        root = db.session.scalar(select(Department).where(Department.parent_id.is_(None))
                                 .order_by(Department.id))
        code = root.code
        db.session.remove()
    # Signed in with a password only, as bench/dashboard.py is: two-step sign-in is the
    # production default and would stop the department login at its setup page.
    app.config["TOTP_REQUIRED"] = False
    client = app.test_client()
    with app.app_context():
        response = login(client, f"dept-{code}", PASSWORD)
        assert response.status_code == 302, "department login failed"
    out = {}
    for label, url in (("month", f"/d/{code}/?p={period}"), ("year", f"/d/{code}/?p={period[:4]}"),
                       ("by group (month)", f"/d/{code}/groups?p={period}")):
        times = []
        for _ in range(runs):
            seconds, response = timed(lambda u=url: client.get(u))
            assert response.status_code == 200, (url, response.status_code)
            times.append(seconds)
        out[label] = statistics.median(times)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True, help="superuser URL of a generated DB")
    parser.add_argument("--period", default=None, help="YYYY-MM (default: last month)")
    parser.add_argument("--runs", type=int, default=5, help="dashboard renders to time")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of job and baseline")
    parser.add_argument("--per-group", action="store_true",
                        help="also time the per-group path (one build_snapshot per group)")
    args = parser.parse_args(argv)
    from datetime import date

    from sqlalchemy import make_url

    from harmnet.cli import grant_reports_role
    from harmnet.services.reports import previous_month

    period = args.period or previous_month(date.today())
    owner = libpq_url(args.database_url)
    grant_reports_role(owner, REPORTS_ROLE)
    reports_url = make_url(owner).set(username=REPORTS_ROLE, password=None).render_as_string(
        hide_password=False)
    # The app role (RLS applies, as in production), with the job's reports engine.
    app = make_app(app_url(owner), reports_url)

    with psycopg_connect(owner) as conn:
        groups, contacts, referrals = conn.execute(
            "SELECT (SELECT count(*) FROM peer_groups), (SELECT count(*) FROM contacts),"
            " (SELECT count(*) FROM referrals)").fetchone()
    print(f"database: {groups} groups, {contacts:,} contacts, {referrals:,} referrals; "
          f"period {period}")

    first_s, first_sql_s, created = batched_path(app, period)
    print(f"monthly job, all groups, first run: {first_s:.2f} s (SQL {first_sql_s:.2f} s), "
          f"{created} new versions")
    check_same(app, owner, period)
    same_times, base_times, job_times, sql_times = [], [], [], []
    set_sql = set_statement(period)
    for _ in range(args.repeat):
        same_s, same_rows = baseline(owner, period, set_sql)
        base_s, base_rows = baseline(owner, period)
        job_s, sql_s, created = batched_path(app, period)
        assert created == 0, "values changed between runs"
        same_times.append(same_s)
        base_times.append(base_s)
        job_times.append(job_s)
        sql_times.append(sql_s)
    same_m, base_m, job_m, sql_m = (statistics.median(t) for t in
                                    (same_times, base_times, job_times, sql_times))

    def runs(times: list[float]) -> str:
        return ", ".join(f"{t:.2f}" for t in times)

    print(f"baseline A, one hand-written statement computing the job's indicators over the "
          f"contacts and referrals (families 1-3) of every period the job writes (each month "
          f"of the year so far, each quarter to date, the year to date): {same_m:.2f} s "
          f"median of "
          f"{args.repeat} ({same_rows} rows); runs {runs(same_times)}")
    print(f"baseline B, the floor, one hand-written GROUP BY of 3 of the 18 indicators "
          f"(contacts, distinct clients, referrals by service; no sex/age, no first time this "
          f"year): {base_m:.2f} s median ({base_rows} rows); runs {runs(base_times)}")
    print(f"monthly job, all groups, values unchanged: {job_m:.2f} s median (SQL "
          f"{sql_m:.2f} s); runs {runs(job_times)}")
    print(f"ratio job / baseline A: {job_m / same_m:.2f} (target <= 1.5); job / floor B: "
          f"{job_m / base_m:.2f}; SQL part / B: {sql_m / base_m:.2f}; job time {job_m:.2f} s "
          f"(target < 60 s)")
    if args.per_group:
        job_s, created = job_path(app, period)
        print(f"per-group path, one build_snapshot per group: {job_s:.2f} s, {created} new "
              f"versions; ratio to the baseline {job_s / base_m:.2f}")
    for label, seconds in dashboard(app, period, args.runs).items():
        print(f"department dashboard render, root department, {label}: {seconds * 1000:.0f} ms "
              f"(median of {args.runs})")
    return 0


def psycopg_connect(url: str):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(libpq_url(url))


if __name__ == "__main__":
    raise SystemExit(main())
