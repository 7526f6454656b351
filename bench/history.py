"""Page costs that must not grow with the history: the contact list of the largest group
with one and with five years of history (bench/generate.py --years).

    .venv/bin/python bench/history.py --groups 100 --contacts-per-year 500000
    .venv/bin/python bench/history.py --use-existing      # measure databases made before

For each length of history the database `<base>_y<years>` is generated (same groups, same
contacts per year, so the recent months look alike; --use-existing keeps what is there).
Then the app, in-process and as the non-owner role, serves the largest group's contact
list to its coordinator: the first page, the page twenty "older" links deep, a filtered
first page, and a peer educator's own first page. For each it prints the median time, the
statements of the request, and the list statement's EXPLAIN (ANALYZE, BUFFERS): buffers
touched and execution time. Goal: five years within 1.2x of one year.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

from contacts_common import libpq_url, make_app, sign_in

ROOT = Path(__file__).resolve().parent.parent
BUFFERS = re.compile(r"Buffers: shared(?: hit=(\d+))?(?: read=(\d+))?")
OLDER = re.compile(r'<a href="([^"]+)" rel="next">')


def generate(url: str, groups: int, contacts: int, years: int) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.generate import main as generate_main

    generate_main(["--groups", str(groups), "--contacts", str(contacts), "--years", str(years),
                   "--database-url", url])


def largest_group(url: str) -> tuple[int, str, str, str, int]:
    import psycopg

    with psycopg.connect(libpq_url(url)) as conn:
        gid, slug, count = conn.execute(
            "SELECT g.id, g.slug, count(*) FROM contacts c JOIN peer_groups g ON g.id = "
            "c.group_id GROUP BY g.id, g.slug ORDER BY 3 DESC LIMIT 1").fetchone()
        coord = conn.execute(
            "SELECT u.login FROM group_memberships m JOIN users u ON u.id = m.user_id "
            "WHERE m.group_id = %s AND m.role = 'coordinator' ORDER BY u.id LIMIT 1",
            (gid,)).fetchone()[0]
        peer = conn.execute(
            "SELECT u.login FROM contacts c JOIN users u ON u.id = c.peer_educator_id "
            "WHERE c.group_id = %s GROUP BY u.login ORDER BY count(*) DESC LIMIT 1",
            (gid,)).fetchone()[0]
    return gid, slug, coord, peer, count


class Recorder:
    """The statements of one request (SQLAlchemy event hook), to count and to EXPLAIN."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, object]] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        self.statements.append((statement, parameters))


def explain(app, gid: int, statement: str, parameters: object) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    """Buffers touched and execution time (ms) of one statement, as the app role in the group."""
    from harmnet.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        conn.exec_driver_sql("SELECT set_config('harmnet.group_id', %(g)s, true)",
                             {"g": str(gid)})
        plan = [r[0] for r in conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)]  # type: ignore[arg-type]
        conn.rollback()
    hit, read = (int(x or 0) for x in BUFFERS.search("\n".join(plan)).groups())
    took = float(re.search(r"Execution Time: ([\d.]+) ms", plan[-1]).group(1))
    return hit + read, took


def measure(app, client, gid: int, path: str, runs: int) -> tuple[float, int, int, float]:  # type: ignore[no-untyped-def]
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    times = []
    for i in range(runs + 3):
        start = time.perf_counter()
        response = client.get(path)
        took = time.perf_counter() - start
        assert response.status_code == 200, (path, response.status_code)
        if i >= 3:
            times.append(took)
    recorder = Recorder()
    event.listen(Engine, "before_cursor_execute", recorder)
    try:
        client.get(path)
    finally:
        event.remove(Engine, "before_cursor_execute", recorder)
    listing = [s for s in recorder.statements if "FROM contacts" in s[0] and "LIMIT" in s[0]]
    buffers, exec_ms = explain(app, gid, *listing[0]) if listing else (0, 0.0)
    return statistics.median(times) * 1000, len(recorder.statements), buffers, exec_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/harmnet_bench_history"))
    parser.add_argument("--years", default="1,5")
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--contacts-per-year", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--use-existing", action="store_true")
    args = parser.parse_args()

    results: dict[int, dict[str, tuple[float, int, int, float]]] = {}
    for years in (int(y) for y in args.years.split(",")):
        url = f"{args.base_url}_y{years}"
        if not args.use_existing:
            generate(url, args.groups, args.contacts_per_year * years, years)
        gid, slug, coord, peer, count = largest_group(url)
        print(f"-- {years} year(s) of history: largest group {slug}, {count:,} contacts",
              flush=True)
        app = make_app(url)
        base = f"/g/{slug}/contacts/"
        client = app.test_client()
        sign_in(client, coord)
        deep = base
        for _ in range(20):
            match = OLDER.search(client.get(deep).get_data(as_text=True))
            assert match, "fewer than 21 pages"
            deep = match.group(1).replace("&amp;", "&")
        cases = {"coordinator, first page": base, "coordinator, 20 pages older": deep,
                 "coordinator, channel=zalo": base + "?channel=zalo"}
        results[years] = {label: measure(app, client, gid, path, args.runs)
                          for label, path in cases.items()}
        client = app.test_client()
        sign_in(client, peer)
        results[years]["peer educator, own first page"] = measure(app, client, gid, base,
                                                                  args.runs)
        for label, (ms, statements, buffers, exec_ms) in results[years].items():
            print(f"  {label}: median {ms:.1f} ms, {statements} statements; list statement "
                  f"{buffers} buffers, {exec_ms:.2f} ms", flush=True)
    if len(results) == 2:
        (y1, first), (y5, last) = sorted(results.items())
        print(f"ratios {y5} years / {y1} year (page time; list statement buffers):")
        for label in first:
            print(f"  {label}: {last[label][0] / first[label][0]:.2f}x; "
                  f"{last[label][2] / max(first[label][2], 1):.2f}x")
    print(f"load average while running: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
