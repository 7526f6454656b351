"""The department's pages on a database with report snapshots: server time of the dashboard
(a month, a quarter, a year), the by-group page (by name and sorted by a figure), and what
each costs in SQL statements and bytes.

Run against a database made by bench/generate.py whose months were closed by the monthly job
(bench/aggregates.py runs it), as the app role with row-level security on, in-process (a
database generated earlier needs `flask --app wsgi db upgrade` first: the dashboard's index
and row-level security policy come from migration 0018):

    .venv/bin/python bench/dashboard.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench --period 2026-11

Target: a year's dashboard of the root department under 300 ms (issue 17). The dashboard
reads, for a year, the year's snapshots of every group (all cells), the twelve months'
(the sparklines) and the year before's (the change): about 14,000 snapshots at 1,000 groups.
Times are medians of --runs renders after one warm-up, with the Python process's own CPU
time (what the page costs outside PostgreSQL, whatever the machine's load); the load average
is printed before and after, since the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.settings import PASSWORD, app_url, libpq_url  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True, help="superuser URL of a generated DB")
    parser.add_argument("--period", required=True, help="YYYY-MM, a month the job closed")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)

    from sqlalchemy import event, select

    from bench.aggregates import make_app
    from harmnet.extensions import db
    from harmnet.models import Department
    from tests.support import login

    # Signed in with a password only, as the other in-process benches are (two-step sign-in
    # is the production default and would stop the department login at its setup page).
    app = make_app(app_url(libpq_url(args.database_url)))
    app.config["TOTP_REQUIRED"] = False
    with app.app_context():
        root = db.session.scalar(select(Department).where(Department.parent_id.is_(None))
                                 .order_by(Department.id))
        code = root.code
        engine = db.engine
        db.session.remove()
    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def count(*_args):  # type: ignore[no-untyped-def]
        statements[0] += 1

    client = app.test_client()
    with app.app_context():
        assert login(client, f"dept-{code}", PASSWORD).status_code == 302, "login failed"
    year, quarter = args.period[:4], f"{args.period[:4]}-Q{(int(args.period[5:]) - 1) // 3 + 1}"
    pages = (("dashboard, month", f"/d/{code}/?p={args.period}"),
             ("dashboard, quarter", f"/d/{code}/?p={quarter}"),
             ("dashboard, year", f"/d/{code}/?p={year}"),
             ("by group, by name (month)", f"/d/{code}/groups?p={args.period}"),
             ("by group, people reached largest first (year)",
              f"/d/{code}/groups?p={year}&i=reached&sort=value"))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for label, url in pages:
        response = client.get(url)  # warm-up
        assert response.status_code == 200, (url, response.status_code,
                                             response.headers.get("Location"))
        times, cpu = [], []
        for _ in range(args.runs):
            statements[0] = 0
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            assert response.status_code == 200, (url, response.status_code)
        print(f"{label}: {statistics.median(times) * 1000:.0f} ms median of {args.runs} "
              f"(fastest {min(times) * 1000:.0f} ms; Python CPU "
              f"{statistics.median(cpu) * 1000:.0f} ms), {statements[0]} statements, "
              f"{len(response.data) / 1024:.1f} KB HTML")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
