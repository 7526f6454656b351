"""CPU seconds of one run of the monthly job for all groups (its Python process and its
PostgreSQL backends, read from /proc), next to its wall time: on a shared machine the wall
time mostly measures the queue for the CPU. Rolled back: nothing is written.

    .venv/bin/python bench/job_cpu.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench --period 2026-11

Run it after bench/aggregates.py (whose first run stores the snapshots) to measure a run
with nothing changed, or before it to measure a first run. PostgreSQL's parallel workers,
if the planner starts any, are not counted (the job's statements run without them).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.aggregates import REPORTS_ROLE, make_app  # noqa: E402
from bench.settings import app_url, libpq_url  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="superuser URL")
    parser.add_argument("--period", required=True, help="YYYY-MM")
    args = parser.parse_args()
    from sqlalchemy import event, make_url, select, text

    from harmnet import tenancy
    from harmnet.cli import grant_reports_role
    from harmnet.extensions import db
    from harmnet.models import PeerGroup
    from harmnet.services import report_batch

    owner = libpq_url(args.database_url)
    grant_reports_role(owner, REPORTS_ROLE)
    reports_url = make_url(owner).set(username=REPORTS_ROLE, password=None).render_as_string(
        hide_password=False)
    app = make_app(app_url(owner), reports_url)
    pids: set[int] = set()

    def on_connect(dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_conn.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        pids.add(cursor.fetchone()[0])
        cursor.close()

    with app.app_context(), tenancy.reports_context():
        engines = (db.engine, report_batch.reports_engine())
        for engine in engines:
            event.listen(engine, "connect", on_connect)
            engine.dispose()
        ids = list(db.session.scalars(select(PeerGroup.id)))
        db.session.rollback()
        with engines[1].connect() as conn:
            conn.execute(text("SELECT 1"))
        before = {pid: backend_cpu(pid) for pid in pids}
        usage, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        outcomes = report_batch.build_snapshots(ids, args.period, "refresh")
        db.session.flush()
        wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
        postgres = sum(backend_cpu(pid) - before.get(pid, 0.0) for pid in pids)
        db.session.rollback()
    python = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
    created = sum(o.created for o in outcomes or [])
    print(f"monthly job, {len(ids)} groups, {args.period}: {wall:.1f} s wall; CPU {python:.1f} s "
          f"Python + {postgres:.1f} s PostgreSQL = {python + postgres:.1f} s; {created} new "
          f"versions (rolled back); load average {os.getloadavg()} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
