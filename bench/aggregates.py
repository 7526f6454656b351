"""Monthly aggregates at scale: the snapshot job over every group, against one hand-written
GROUP BY over the same rows, and the department dashboard's render time.

Run against a database made by bench/generate.py (owner URL), e.g. (a few minutes):

    .venv/bin/python bench/generate.py --groups 200 --contacts 1000000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench_reports
    .venv/bin/python bench/aggregates.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench_reports

Full scale (the issue's figures):

    .venv/bin/python bench/generate.py --groups 1000 --contacts 10000000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench --seed 1
    .venv/bin/python bench/aggregates.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench

It prints:
- the job path: one `build_snapshot` per group (the fan-out's task body: compute under the
  group's context as the app role with RLS on, suppress, store), all groups in sequence;
- the batched path: the same SQL with one statement per query family for all groups
  (`compute_groups_batched`, as the owner: one GROUP BY group_id per family), plus
  suppression and storage;
- the baseline: one hand-written GROUP BY over the month's contacts joined to their referrals;
- the ratios of both paths to the baseline (target <= 1.5) and the totals (target < 60 s);
- the department dashboard's render time (root department, month and year; target < 300 ms).

Each path writes snapshots; a second run writes none (values unchanged), so the first
figure includes the inserts and later ones measure the comparison only: both are printed.
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
SELECT c.group_id,
       COUNT(*) AS rows,
       COUNT(DISTINCT c.id) AS contacts,
       COUNT(DISTINCT c.client_id) AS reached,
       COUNT(*) FILTER (WHERE c.channel = 'group_session') AS sessions,
       SUM(c.condoms) AS condoms,
       COUNT(r.id) AS referrals,
       COUNT(DISTINCT r.client_id) FILTER (WHERE r.status = 'completed') AS completed
FROM contacts c
LEFT JOIN referrals r ON r.group_id = c.group_id AND r.contact_id = c.id
WHERE c.occurred_on >= %(start)s AND c.occurred_on < %(end)s AND c.deleted_at IS NULL
GROUP BY c.group_id
"""


def make_app(url: str):  # type: ignore[no-untyped-def]
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


def batched_path(app, period: str) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from harmnet.extensions import db
    from harmnet.models import PeerGroup
    from harmnet.services import reports

    with app.app_context():
        groups = {g.id: g for g in db.session.scalars(select(PeerGroup))}

        def run() -> int:
            values = reports.compute_groups_batched(list(groups), period)
            created = 0
            for gid, raw in values.items():
                k, _ = reports._group_setup(groups[gid])
                payload = reports.snapshot_payload(raw, period, k)
                created += reports.store_snapshot(groups[gid], period, payload, "refresh")[1]
            db.session.commit()
            return created

        seconds, created = timed(run)
        db.session.remove()
    return seconds, created


def baseline(owner_url: str, period: str) -> tuple[float, int]:
    import psycopg

    from harmnet.services.reports import month_bounds

    start, end = month_bounds(period)
    with psycopg.connect(libpq_url(owner_url)) as conn:
        seconds, rows = timed(lambda: conn.execute(BASELINE_SQL, {"start": start, "end": end})
                              .fetchall())
    return seconds, len(rows)


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
    parser.add_argument("--database-url", required=True, help="owner URL of a generated DB")
    parser.add_argument("--period", default=None, help="YYYY-MM (default: last month)")
    parser.add_argument("--runs", type=int, default=5, help="dashboard renders to time")
    args = parser.parse_args(argv)
    from datetime import date

    from harmnet.services.reports import previous_month

    period = args.period or previous_month(date.today())
    owner = libpq_url(args.database_url)
    app = make_app(app_url(owner))  # the app role: RLS applies, as in production
    owner_app = make_app(owner)  # cross-group statements need a role past RLS

    base_s, base_groups = baseline(owner, period)
    print(f"period {period}: hand-written GROUP BY over contacts+referrals: {base_s:.2f} s "
          f"({base_groups} groups)")
    for attempt in ("first run (writes snapshots)", "second run (values unchanged)"):
        job_s, created = job_path(app, period)
        print(f"job path, one build_snapshot per group, {attempt}: {job_s:.2f} s, "
              f"{created} new versions; ratio to the GROUP BY {job_s / base_s:.2f}")
    for attempt in ("batched, values unchanged",):
        batch_s, created = batched_path(owner_app, period)
        print(f"batched path ({attempt}): {batch_s:.2f} s, {created} new versions; ratio to "
              f"the GROUP BY {batch_s / base_s:.2f}")
    base2_s, _ = baseline(owner, period)
    print(f"hand-written GROUP BY again (warm): {base2_s:.2f} s")
    for label, seconds in dashboard(app, period, args.runs).items():
        print(f"department dashboard render, root department, {label}: {seconds * 1000:.0f} ms "
              f"(median of {args.runs})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
