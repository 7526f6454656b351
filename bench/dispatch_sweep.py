"""The reminder dispatcher's pass with nothing due, at 10, 100 and 1,000 groups: its
statements and its time, with the sweep role and without it.

    .venv/bin/python bench/dispatch_sweep.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench_sweep

The database named is dropped, migrated, and filled with COPY: groups that each hold
reminders ahead (pending, due tomorrow) and a history of sent ones, so nothing is due. The
app connects as the non-owner role (row-level security on), and the sweep as the narrow
role of `flask db-reminders-role` (REMINDERS_DATABASE_URL), as a production worker would.
For each group count it prints one dispatcher pass's statements (every statement any
engine sends, counted with SQLAlchemy's event hooks) and its median time; then the same
without the sweep role (PostgreSQL asks each group: a statement per group, plus the
transaction-local `set_config` of the group's context, sent beside the events and so not
in the count). Targets: the same count at every size, at most 3, under 50 ms at 1,000.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

import psycopg
from contacts_common import config_for, libpq_url, recreate_database

SWEEP_ROLE = "harmnet_reminders_sweep"


def add_groups(url: str, first: int, last: int, ahead: int, history: int) -> None:
    """Groups first..last, each with `ahead` pending reminders due tomorrow and `history`
    sent ones over the past year (no target: the sweep never looks at one)."""
    now = datetime.now(UTC)
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        if first == 1:
            cur.execute("INSERT INTO departments (id, code, name, suppression_threshold, "
                        "fiscal_year_start_month, created_at) VALUES (1, 'bench', 'Bench', 5, "
                        "1, now())")
        with cur.copy("COPY peer_groups (id, slug, name, kind, department_id, area, timezone,"
                      " locale, settings, is_active, created_at) FROM STDIN") as cp:
            for g in range(first, last + 1):
                cp.write_row((g, f"g{g:04d}", f"Nhóm {g}", "peer_group", 1, "",
                              "Asia/Ho_Chi_Minh", "vi", "{}", True, now))
        with cur.copy("COPY reminders (group_id, send_at, channel, status, attempts, "
                      "idempotency_key, sent_at, created_at) FROM STDIN") as cp:
            for g in range(first, last + 1):
                for k in range(ahead):
                    cp.write_row((g, now + timedelta(days=1, minutes=k), "sms", "pending", 0,
                                  f"ahead:{g}:{k}", None, now))
                for k in range(history):
                    at = now - timedelta(days=365 * k / max(history, 1), hours=1)
                    cp.write_row((g, at, "sms", "sent", 1, f"old:{g}:{k}", at, at))
        conn.commit()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("ANALYZE peer_groups")
        conn.execute("ANALYZE reminders")


def measure(app, runs: int) -> tuple[int, list[float]]:  # type: ignore[no-untyped-def]
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from harmnet.extensions import db
    from worker.tasks.reminders import dispatch

    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    times = []
    counts = set()
    with app.app_context():
        for i in range(runs + 3):
            statements.clear()
            event.listen(Engine, "before_cursor_execute", count)
            start = time.perf_counter()
            queued = dispatch(enqueue=lambda gid, batches: [])
            took = time.perf_counter() - start
            event.remove(Engine, "before_cursor_execute", count)
            assert queued == 0
            if i >= 3:  # the first passes connect and warm the plan caches
                times.append(took)
                counts.add(len(statements))
        db.session.remove()
    assert len(counts) == 1, counts
    return counts.pop(), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/"
                        "harmnet_bench_sweep")
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--ahead", type=int, default=20, help="pending reminders per group")
    parser.add_argument("--history", type=int, default=200, help="sent reminders per group")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    from sqlalchemy import make_url

    from harmnet import create_app
    from harmnet.cli import grant_reminders_role

    recreate_database(args.database_url)
    owner = make_url(args.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    grant_reminders_role(owner.render_as_string(hide_password=False), SWEEP_ROLE)
    sweep_url = owner.set(username=SWEEP_ROLE, password=None).render_as_string(
        hide_password=False)
    have = 0
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        add_groups(args.database_url, have + 1, size, args.ahead, args.history)
        have = size
        cfg = config_for(args.database_url)
        cfg.REMINDERS_DATABASE_URL = sweep_url
        n, times = measure(create_app(cfg), args.runs)
        cfg = config_for(args.database_url)
        cfg.REMINDERS_DATABASE_URL = None
        n_old, times_old = measure(create_app(cfg), max(3, args.runs // 6))
        rows.append((size, n, statistics.median(times) * 1000, n_old,
                     statistics.median(times_old) * 1000))
        print(f"{size:>5} groups ({size * (args.ahead + args.history):,} reminders): "
              f"sweep role {n} statements, median {rows[-1][2]:.1f} ms; "
              f"group by group {n_old} statements, median {rows[-1][4]:.1f} ms", flush=True)
    print("targets: the same statement count at every size (at most 3), under 50 ms at 1,000 "
          "groups")


if __name__ == "__main__":
    main()
