"""Load test: a mixed workload by role against gunicorn, PostgreSQL and Redis, with wrk.

Usage (from the repository root; the database comes from bench/generate.py):

    .venv/bin/python bench/load.py --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench
    .venv/bin/python bench/load.py --users 10,50,100 --duration 60 --workers 4 ...

For each number of users it runs one wrk process per role at the same time (70% peer
educators, 20% coordinators, 10% department staff), each connection a user with its own
signed-in session who waits a think time between requests; it prints throughput, p50, p95,
p99 latency and errors per role and in total, then server-side times per endpoint (from
gunicorn's access log). Then, on the same server, it saturates the peer-educator home page
and the bare Flask "hello" route (bench/hello_wsgi.py) in alternating rounds and prints the
ratio of their throughputs (the median of the rounds'). Figures are also written as JSON to
bench/out/. The workload is `bench.harness.WORKLOAD`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from bench.harness import HELLO_PATH, HOME, ROLES, WORKLOAD, Server, Timings, log  # noqa: E402
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


def refresh_cookies(server: Server, sessions: list[harness.Session]) -> None:
    """Take the cookie each session's server last sent, as a browser does. wrk replays a
    fixed cookie; once its idle timestamp is a minute old, every request would refresh
    and re-sign it (which a browser's next request does not need), and that work would
    be counted against the page."""
    for s in sessions:
        _, headers, _ = harness.fetch(server.base, "GET", HOME.path.format(**s.values), s.cookie)
        s.cookie = harness.session_cookie(headers, s.cookie)


def saturate(server: Server, sessions: list[harness.Session], seconds: int, connections: int,
             seed: int, work: Path, rounds: int) -> dict:
    """Throughput of the peer-educator home page and of "hello", in alternating rounds.

    The machine's speed drifts (other tenants of the host): two long runs back to back
    can differ twofold for reasons of their own. Alternating short runs puts both pages
    under the same conditions; the ratio is the median of the rounds' ratios."""
    peers = [s for s in sessions if s.role == "peer"]
    home_file = work / "requests-home.tsv"
    hello_file = work / "requests-hello.tsv"
    hello_file.write_text(f"GET\t{HELLO_PATH}\t\t\n")
    refresh_cookies(server, peers)
    harness.write_requests(home_file, peers, [HOME])
    # A short warm-up of both, then the measured rounds.
    for f in (home_file, hello_file):
        harness.wrk_result(harness.start_wrk(server.base, f, connections, 3, (0, 0), seed))
    each = max(1, seconds // rounds)
    runs: dict[str, list[dict]] = {"home": [], "hello": []}
    for _ in range(rounds):
        refresh_cookies(server, peers)
        harness.write_requests(home_file, peers, [HOME])
        for name, f in (("home", home_file), ("hello", hello_file)):
            cpu = server.worker_cpu_seconds()
            run = harness.wrk_result(
                harness.start_wrk(server.base, f, connections, each, (0, 0), seed))
            run["worker_cpu_ms"] = ((server.worker_cpu_seconds() - cpu) * 1000
                                    / max(1, run["requests"]))
            runs[name].append(run)
    figures = {}
    for name, rs in runs.items():
        requests = sum(r["requests"] for r in rs)
        figures[name] = {
            "rps": requests / sum(r["duration_us"] / 1e6 for r in rs),
            "requests": requests,
            "error_count": sum(r["error_count"] for r in rs),
            "worker_cpu_ms": statistics.median(r["worker_cpu_ms"] for r in rs),
            # The latency of the median round (wrk reports each run's own percentiles).
            "latency_us": sorted((r["latency_us"] for r in rs), key=lambda x: x["p95"])[
                len(rs) // 2],
        }
    home, hello = figures["home"], figures["hello"]
    ratios = [h["rps"] / b["rps"] for h, b in zip(runs["home"], runs["hello"], strict=True)]
    return {"home": home, "hello": hello, "ratio": statistics.median(ratios),
            "round_ratios": ratios, "ratio_of_totals": home["rps"] / hello["rps"],
            "cpu_ratio": hello["worker_cpu_ms"] / home["worker_cpu_ms"],
            "connections": connections, "rounds": rounds}


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
                             "docs/benchmarks.md's figures use)")
    parser.add_argument("--think", default="500-1500",
                        help="think time between a user's requests, min-max ms")
    parser.add_argument("--ratio-seconds", type=int, default=30,
                        help="seconds of saturating load on each page (0 skips the hello "
                             "ratio)")
    parser.add_argument("--ratio-connections", type=int, default=0,
                        help="wrk connections when saturating (default: one per gunicorn "
                             "thread; fewer leave some workers idle, and hello's figure "
                             "then depends on how the connections fell)")
    parser.add_argument("--ratio-rounds", type=int, default=10,
                        help="alternating home/hello rounds the saturating seconds are cut in")
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
        if args.ratio_seconds:
            log(f"saturating: peer home vs hello, {args.ratio_seconds}s each, in "
                f"{args.ratio_rounds} alternating rounds")
            connections = args.ratio_connections or args.workers * max(1, args.threads)
            report["ratio"] = saturate(server, sessions, args.ratio_seconds,
                                       connections, args.seed, work,
                                       args.ratio_rounds)
    print("\nserver-side time per endpoint (gunicorn access log), ms")
    for run in report["runs"]:
        print(f"  {run['users']} users")
        for key, n, p50, p95, p99 in run["endpoints"]:
            print(f"    {key:<40} {n:7d} p50 {p50:6.1f} p95 {p95:6.1f} p99 {p99:6.1f}")
    if "ratio" in report:
        r = report["ratio"]
        print(f"\nsaturated ({r['connections']} connections): peer home {r['home']['rps']:.0f} "
              f"req/s (p95 {ms(r['home']['latency_us']['p95']).strip()} ms, errors "
              f"{r['home']['error_count']}), hello {r['hello']['rps']:.0f} req/s; "
              f"ratio {r['ratio']:.2f} (median of the rounds: "
              f"{', '.join(f'{x:.2f}' for x in r['round_ratios'])}; of the totals "
              f"{r['ratio_of_totals']:.2f})")
        print(f"gunicorn worker CPU a request: peer home {r['home']['worker_cpu_ms']:.2f} ms, "
              f"hello {r['hello']['worker_cpu_ms']:.2f} ms; CPU ratio {r['cpu_ratio']:.2f} "
              f"(what the throughput ratio would be if the workers had the CPU to themselves "
              f"and PostgreSQL cost nothing)")
    path = out / f"load-{dbname}-{stamp}.json"
    path.write_text(json.dumps(report, indent=1, default=str))
    print(f"\nfigures: {path}")
    errors = sum(r["results"]["all"]["error_count"] for r in report["runs"])
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
