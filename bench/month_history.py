"""The month-closing job's cost must not grow with the history stored before the period
(issue 22): the job for all groups on databases with one and with five years of history.

    .venv/bin/python bench/generate.py --groups 100 --contacts 500000 --years 1 \\
        --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench_history_y1
    .venv/bin/python bench/generate.py --groups 100 --contacts 2500000 --years 5 \\
        --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench_history_y5
    .venv/bin/python bench/month_history.py \\
        postgresql://postgres@127.0.0.1:5432/harmnet_bench_history_y1 \\
        postgresql://postgres@127.0.0.1:5432/harmnet_bench_history_y5

(the same groups and contacts per year; the generator's clients stay active for a span of
months and its yearly pattern follows the calendar, so a month of the last year has about
the same contacts, distinct persons, referrals and trainings in both). For each
database (owner URLs; the script grants the reports role as bench/aggregates.py does) it
closes --period for every group in set-based SQL through the reports role, as the worker
does, without writing (rolled back), and prints the SQL part's median time over --repeat
runs; then each of the job's statements under EXPLAIN (ANALYZE, BUFFERS): its buffers and
execution time (the statements the job runs under its index hints get them here too).
Goal: five years within 1.2x of one year, statement by statement. Buffers are the figure
to trust on a shared machine; times move with the load (printed).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.aggregates import REPORTS_ROLE, make_app  # noqa: E402
from bench.settings import app_url, libpq_url  # noqa: E402

BUFFERS = re.compile(r"Buffers: shared(?: hit=(\d+))?(?: read=(\d+))?")


def measure(owner: str, period: str, repeat: int) -> tuple[float, list[tuple[str, int, float]]]:
    from sqlalchemy import event, make_url, select

    from harmnet import tenancy
    from harmnet.cli import grant_reports_role
    from harmnet.extensions import db
    from harmnet.models import PeerGroup
    from harmnet.services import report_batch

    grant_reports_role(owner, REPORTS_ROLE)
    reports_url = make_url(owner).set(username=REPORTS_ROLE, password=None).render_as_string(
        hide_password=False)
    app = make_app(app_url(owner), reports_url)
    statements: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    with app.app_context(), tenancy.reports_context():
        ids = list(db.session.scalars(select(PeerGroup.id).order_by(PeerGroup.id)))
        setups = list(report_batch.group_setups(ids).values())
        db.session.rollback()
        engine = report_batch.reports_engine()
        times = []
        for i in range(repeat):
            if i == repeat - 1:
                event.listen(engine, "before_cursor_execute", record)
            with engine.connect() as conn:
                start = time.perf_counter()
                report_batch.compute_all(conn, setups, period)
                times.append(time.perf_counter() - start)
                conn.rollback()
        event.remove(engine, "before_cursor_execute", record)
        plans = []
        with engine.connect() as conn:
            for setting in report_batch.BATCH_SETTINGS:
                conn.exec_driver_sql(setting)
            for statement, parameters in statements:
                # The statements the job runs under its hints (reports.compute_set).
                persons = any(word in statement for word in ("persons", "referred",
                                                             "trainings"))
                if persons:
                    for setting in report_batch.PERSONS_SETTINGS:
                        conn.exec_driver_sql(setting)
                plan = [r[0] for r in conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)]  # type: ignore[arg-type]
                if persons:
                    for setting in report_batch.PERSONS_RESET:
                        conn.exec_driver_sql(setting)
                hit, read = (int(x or 0) for x in BUFFERS.search("\n".join(plan)).groups())
                took = float(re.search(r"Execution Time: ([\d.]+) ms", plan[-1]).group(1))
                label = " ".join(statement.split())[:70]
                plans.append((label, hit + read, took))
            conn.rollback()
    return statistics.median(times), plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs=2, help="owner URLs: one year, five years")
    parser.add_argument("--period", default="2026-11")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = []
    for url in args.urls:
        owner = libpq_url(url)
        seconds, plans = measure(owner, args.period, args.repeat)
        print(f"-- {url.rsplit('/', 1)[-1]}: SQL part of the job {seconds:.2f} s (median of "
              f"{args.repeat}), {len(plans)} statements, "
              f"{sum(p[1] for p in plans):,} buffers, load average "
              f"{os.getloadavg()[0]:.1f}", flush=True)
        results.append((seconds, plans))
    (one_s, one), (five_s, five) = results
    print(f"ratio five years / one year: time {five_s / one_s:.2f}x; buffers "
          f"{sum(p[1] for p in five) / max(sum(p[1] for p in one), 1):.2f}x")
    for (label, b1, t1), (_, b5, t5) in zip(one, five, strict=False):
        print(f"  {b5 / max(b1, 1):5.2f}x buffers ({b1:,} -> {b5:,}), {t1:8.1f} -> {t5:8.1f} ms"
              f"  {label}")
    print(f"load average: {os.getloadavg()} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
