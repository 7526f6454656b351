"""Load test: a mixed workload by role against gunicorn, PostgreSQL and Redis, with wrk.

Usage (from the repository root; the database comes from bench/generate.py):

    .venv/bin/python bench/load.py --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench
    .venv/bin/python bench/load.py --users 10,50,100 --duration 60 --workers 4 ...

For each number of users it runs one wrk process per role at the same time (70% peer
educators, 20% coordinators, 10% department staff), each connection a user with its own
signed-in session who waits a think time between requests; it prints throughput, p50, p95,
p99 latency and errors per role and in total, then server-side times per endpoint (from
gunicorn's access log; the contact POST is one of them). Figures are also written as JSON
to bench/out/. The workload is `bench.harness.WORKLOAD`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from bench.harness import ROLES, WORKLOAD, Server, Timings, log  # noqa: E402
from bench.settings import DEFAULT_BIG_URL  # noqa: E402


def prepare_sessions(server: Server, url: str, total: int, seed: int) -> list[harness.Session]:
    sessions = []
    for role, count in harness.split_users(total).items():
        sessions += harness.pick_users(url, role, count, seed)
    started = time.monotonic()
    for s in sessions:
        harness.sign_in(server.base, s)
    log(f"signed in {len(sessions)} users in {time.monotonic() - started:.1f}s")
    return sessions


def mixed_run(server: Server, sessions: list[harness.Session], users: int, seconds: int,
              think: tuple[int, int], seed: int, work: Path) -> dict:
    per_role = harness.split_users(users)
    procs = {}
    for role in ROLES:
        mine = [s for s in sessions if s.role == role][: per_role[role]]
        requests_file = work / f"requests-{role}.tsv"
        harness.write_requests(requests_file, mine, WORKLOAD)
        procs[role] = harness.start_wrk(server.base, requests_file, per_role[role], seconds,
                                        think, seed)
    results = {role: harness.wrk_result(p) for role, p in procs.items()}
    results["all"] = {
        "rps": sum(r["rps"] for r in results.values()),
        "requests": sum(r["requests"] for r in results.values()),
        "error_count": sum(r["error_count"] for r in results.values()),
    }
    return {"users": users, "per_role": per_role, "results": results}


def ms(us: float) -> str:
    return f"{us / 1000:7.1f}"


def print_mixed(run: dict) -> None:
    print(f"\n{run['users']} users ({', '.join(f'{v} {k}' for k, v in run['per_role'].items())});"
          f" machine load average {run['loadavg'][0]:.1f} -> {run['loadavg'][1]:.1f}")
    print(f"  {'role':<12} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for role in ROLES:
        r = run["results"][role]
        lat = r["latency_us"]
        print(f"  {role:<12} {r['rps']:8.1f} {ms(lat['p50'])} {ms(lat['p95'])} {ms(lat['p99'])} "
              f"{r['error_count']:7d}")
    a = run["results"]["all"]
    print(f"  {'all':<12} {a['rps']:8.1f} {'':>8} {'':>8} {'':>8} {a['error_count']:7d}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_BIG_URL,
                        help="owner/superuser URL of a database made by bench/generate.py")
    parser.add_argument("--users", default="10,50,100", help="comma-separated user counts")
    parser.add_argument("--duration", type=int, default=60, help="seconds per user count")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=8,
                        help="threads a gunicorn worker (gthread when > 1; 8 is what "
                             "docs/performance.md's figures use)")
    parser.add_argument("--think", default="500-1500",
                        help="think time between a user's requests, min-max ms")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    levels = [int(u) for u in args.users.split(",") if u.strip()]
    lo, hi = (int(x) for x in args.think.split("-"))
    out = harness.out_dir()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    dbname = args.database_url.rsplit("/", 1)[-1]
    access_log = out / f"access-{dbname}-{stamp}.log"
    facts = harness.database_facts(args.database_url)
    report: dict = {"database": dbname, "facts": facts, "machine": harness.machine(),
                    "workers": args.workers, "think_ms": [lo, hi], "duration": args.duration,
                    "workload": [p.__dict__ for p in WORKLOAD], "runs": []}
    print(f"database {dbname}: {facts['peer_groups']:,} groups, {facts['contacts']:,} contacts, "
          f"{facts['bytes'] / 2**30:.1f} GiB; gunicorn {args.workers} workers; "
          f"think {lo}-{hi} ms; {args.duration}s per level")
    print(f"machine: {report['machine']}")
    work = out / f"work-{stamp}"
    work.mkdir()
    with Server(args.database_url, args.workers, access_log, threads=args.threads) as server:
        sessions = prepare_sessions(server, args.database_url, max(levels), args.seed)
        harness.check_pages(server.base, sessions, WORKLOAD)
        # Warm the workers (imports, template compilation, connection pools).
        mixed_run(server, sessions, min(levels), 5, (lo, hi), args.seed, work)
        offset = access_log.stat().st_size
        for users in levels:
            log(f"{users} users for {args.duration}s")
            load_before = os.getloadavg()[0]
            run = mixed_run(server, sessions, users, args.duration, (lo, hi), args.seed, work)
            # Other work on the machine shows here: the figures only mean something when
            # the load average stays near what this run itself adds (about 2).
            run["loadavg"] = [load_before, os.getloadavg()[0]]
            timings = Timings()
            offset = timings.read(access_log, offset)
            run["endpoints"] = timings.table()
            report["runs"].append(run)
            print_mixed(run)
    print("\nserver-side time per endpoint (gunicorn access log), ms")
    for run in report["runs"]:
        print(f"  {run['users']} users")
        for key, n, p50, p95, p99 in run["endpoints"]:
            print(f"    {key:<40} {n:7d} p50 {p50:6.1f} p95 {p95:6.1f} p99 {p99:6.1f}")
    path = out / f"load-{dbname}-{stamp}.json"
    path.write_text(json.dumps(report, indent=1, default=str))
    print(f"\nfigures: {path}")
    errors = sum(r["results"]["all"]["error_count"] for r in report["runs"])
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
