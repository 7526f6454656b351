"""Cost of each workload page, one request at a time: SQL statements, time, CPU, bytes.

Usage (from the repository root):

    .venv/bin/python bench/page_cost.py                       # small vs big database
    .venv/bin/python bench/page_cost.py --databases URL1,URL2 --repeat 100

Runs the app in-process (no gunicorn, no concurrency) against each database in turn, as
the non-owner role so row-level security applies, signs in one user per role and requests
every page of `bench.harness.WORKLOAD` `--repeat` times. It prints, per page, the number of
SQL statements (an N+1 query shows up here as a count that grows with the data), the
fastest and the median time, the median CPU time of this process and the compressed size.
With two databases it compares them: the users of the second are chosen in groups whose
number of contacts is closest to the first's, so "as fast on 10 million contacts as on 10
thousand" compares groups of the same size on a small and on a big platform.
Fastest-of-N is the figure to compare on a busy machine: other load only adds time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from bench.harness import ROLES, WORKLOAD, Page, Session  # noqa: E402
from bench.settings import (  # noqa: E402
    BENCH_ENV,
    DEFAULT_BIG_URL,
    DEFAULT_SMALL_URL,
    app_url,
    libpq_url,
)


def group_size(url: str, slug: str) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute("SELECT count(*) FROM contacts c JOIN peer_groups g "
                            "ON g.id = c.group_id WHERE g.slug = %s", (slug,)).fetchone()[0]


def users_near(url: str, role: str, contacts: int) -> Session:
    """A user of `role` in the group whose number of contacts is closest to `contacts`."""
    group_role = "peer_educator" if role == "peer" else "coordinator"
    with psycopg.connect(libpq_url(url)) as conn:
        login, slug, gid, training = conn.execute(
            """WITH sizes AS (SELECT group_id, count(*) n FROM contacts GROUP BY group_id)
               SELECT u.login, g.slug, g.id,
                 (SELECT max(t.id) FROM trainings t WHERE t.group_id = g.id)
               FROM sizes s JOIN peer_groups g ON g.id = s.group_id
               JOIN group_memberships m ON m.group_id = g.id AND m.role = %s
               JOIN users u ON u.id = m.user_id
               ORDER BY abs(s.n - %s), u.login LIMIT 1""", (group_role, contacts)).fetchone()
    return Session(role, login, {"slug": slug, "group_id": str(gid), "training": str(training),
                                 "today": time.strftime("%Y-%m-%d")})


def measure(url: str, sessions: dict[str, Session], pages: list[Page], repeat: int) -> dict:
    """Run the pages in-process against `url`; return figures per page label."""
    os.environ.update(BENCH_ENV, DATABASE_URL=app_url(url),
                      HARMNET_INSTANCE_DIR=tempfile.mkdtemp(prefix="harmnet-cost-"))
    os.environ.pop("REDIS_URL", None)
    from sqlalchemy import event

    from harmnet import create_app
    from harmnet.extensions import db

    app = create_app("development")
    statements = [0]
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args: object) -> None:
        statements[0] += 1

    results = {}
    for role in ROLES:
        session = sessions[role]
        client = app.test_client()
        harness.sign_in_client(client, session.login)
        for page in (p for p in pages if p.role == role):
            path = page.path.format(**session.values)
            headers = {"Accept-Encoding": "br, gzip"}
            for _ in range(5):
                client.get(path, headers=headers)
            walls, cpus = [], []
            size = status = 0
            counts = []
            for _ in range(repeat):
                statements[0] = 0
                w, c = time.perf_counter(), time.process_time()
                response = client.open(path, method=page.method, headers=headers)
                walls.append(time.perf_counter() - w)
                cpus.append(time.process_time() - c)
                counts.append(statements[0])
                size, status = len(response.data), response.status_code
            results[page.label] = {
                "path": path, "status": status, "statements": max(counts), "bytes": size,
                "min_ms": min(walls) * 1000, "median_ms": statistics.median(walls) * 1000,
                "cpu_ms": statistics.median(cpus) * 1000,
            }
    with app.app_context():
        db.engine.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--databases", default=f"{DEFAULT_SMALL_URL},{DEFAULT_BIG_URL}",
                        help="one or two owner URLs, comma-separated (small first)")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    urls = [u for u in args.databases.split(",") if u]
    pages = [p for p in WORKLOAD if p.method == "GET"]
    first = {role: harness.pick_users(urls[0], role, 1, args.seed)[0] for role in ROLES}
    figures = []
    for n, url in enumerate(urls):
        sessions = first
        if n:
            sessions = {role: (users_near(url, role, group_size(urls[0], first[role].values[
                "slug"])) if role != "department" else first[role]) for role in ROLES}
        facts = harness.database_facts(url)
        sizes = {r: group_size(url, s.values["slug"]) for r, s in sessions.items()
                 if "slug" in s.values}
        print(f"\n{url.rsplit('/', 1)[-1]}: {facts['contacts']:,} contacts in "
              f"{facts['peer_groups']:,} groups; the measured groups have "
              + ", ".join(f"{r} {v:,}" for r, v in sizes.items()) + " contacts")
        result = measure(url, sessions, pages, args.repeat)
        figures.append(result)
        print(f"  {'page':<22} {'status':>6} {'SQL':>4} {'min ms':>7} {'med ms':>7} "
              f"{'cpu ms':>7} {'bytes':>6}")
        for label, r in result.items():
            print(f"  {label:<22} {r['status']:>6} {r['statements']:>4} {r['min_ms']:7.2f} "
                  f"{r['median_ms']:7.2f} {r['cpu_ms']:7.2f} {r['bytes']:>6}")
    if len(figures) == 2:
        print("\nbig / small, fastest of N (target: at most 1.2 for a group's pages)")
        for label, small in figures[0].items():
            big = figures[1][label]
            print(f"  {label:<22} {big['min_ms'] / small['min_ms']:5.2f}  "
                  f"SQL {small['statements']} -> {big['statements']}")
    print(f"\nmachine: {harness.machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
