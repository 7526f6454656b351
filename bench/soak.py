"""Soak run: the mixed workload at 50 users for 30 minutes; no errors, worker memory flat.

Usage (from the repository root):

    .venv/bin/python bench/soak.py                      # 30 min, 50 users, harmnet_bench
    .venv/bin/python bench/soak.py --minutes 3          # a short check that it works

It starts gunicorn as bench/load.py does, runs the `bench.harness.WORKLOAD` mix with think
time for the whole duration, and samples the resident memory (RSS) of every gunicorn worker
every `--sample` seconds. Memory is compared between the end of the warm-up (the first 10%
of the run, at least one minute, when imports, template caches and connection pools are
full) and the end. It passes when there are no errors and the total worker RSS grew by less
than `--max-growth` (10%). Each minute it also prints the server's own p95 of that minute
(gunicorn's access log), and at the end the server-side times per endpoint. The samples go
to bench/out/soak-*.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from bench.harness import ROLES, WORKLOAD, Server, log  # noqa: E402
from bench.settings import DEFAULT_BIG_URL  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_BIG_URL)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4,
                        help="threads a worker (gthread), as the Procfile's WEB_THREADS")
    parser.add_argument("--think", default="500-1500", help="min-max ms between requests")
    parser.add_argument("--sample", type=float, default=10, help="seconds between RSS samples")
    parser.add_argument("--max-growth", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    lo, hi = (int(x) for x in args.think.split("-"))
    seconds = int(args.minutes * 60)
    warmup = max(60.0, seconds * 0.1) if seconds >= 120 else seconds * 0.25
    out = harness.out_dir()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    work = out / f"work-soak-{stamp}"
    work.mkdir()
    dbname = args.database_url.rsplit("/", 1)[-1]
    print(f"soak: {args.users} users for {args.minutes:g} min on {dbname}, "
          f"{args.workers} workers x {args.threads} threads; machine: {harness.machine()}")
    samples: list[tuple[float, dict[int, int]]] = []
    access_log = out / f"access-soak-{dbname}-{stamp}.log"
    whole = harness.Timings()
    offset = 0
    with Server(args.database_url, args.workers, access_log, threads=args.threads) as server:
        sessions = []
        for role, count in harness.split_users(args.users).items():
            sessions += harness.pick_users(args.database_url, role, count, args.seed)
        for s in sessions:
            harness.sign_in(server.base, s)
        harness.check_pages(server.base, sessions, WORKLOAD)
        per_role = harness.split_users(args.users)
        procs = {}
        for role in ROLES:
            requests_file = work / f"requests-{role}.tsv"
            harness.write_requests(requests_file, [s for s in sessions if s.role == role],
                                   WORKLOAD)
            procs[role] = harness.start_wrk(server.base, requests_file, per_role[role],
                                            seconds, (lo, hi), args.seed)
        started = time.monotonic()
        stop = threading.Event()

        def sampler() -> None:
            while not stop.is_set():
                samples.append((time.monotonic() - started, server.worker_rss_kb()))
                stop.wait(args.sample)

        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        last_report = 0.0
        while any(p.poll() is None for p in procs.values()):
            time.sleep(1)
            elapsed = time.monotonic() - started
            if elapsed - last_report >= 60 and samples:
                last_report = elapsed
                total = sum(samples[-1][1].values()) / 1024
                # The server's own time in the last minute shows when a slow spell came.
                minute = harness.Timings()
                offset = minute.read(access_log, offset)
                times = sorted(t for values in minute.samples.values() for t in values)
                for key, values in minute.samples.items():
                    whole.samples[key].extend(values)
                p95 = times[int(0.95 * (len(times) - 1))] if times else 0.0
                log(f"  {elapsed / 60:4.1f} min: workers {total:.0f} MiB; last minute "
                    f"{len(times)} requests, server p95 {p95:.1f} ms")
        stop.set()
        thread.join()
        samples.append((time.monotonic() - started, server.worker_rss_kb()))
        results = {role: harness.wrk_result(p) for role, p in procs.items()}

    errors = sum(r["error_count"] for r in results.values())
    requests = sum(r["requests"] for r in results.values())
    after_warmup = next(s for s in samples if s[0] >= warmup)
    end = samples[-1]
    base_total = sum(after_warmup[1].values())
    end_total = sum(end[1].values())
    growth = (end_total - base_total) / base_total
    same_workers = set(after_warmup[1]) == set(end[1])
    print(f"\n{requests:,} requests, {requests / seconds:.1f} req/s, errors {errors}")
    for role in ROLES:
        r = results[role]
        lat = r["latency_us"]
        print(f"  {role:<12} {r['rps']:7.1f} req/s  p50 {lat['p50'] / 1000:6.1f} ms  "
              f"p95 {lat['p95'] / 1000:6.1f} ms  p99 {lat['p99'] / 1000:6.1f} ms  "
              f"errors {r['error_count']}")
    print(f"worker RSS after warm-up ({after_warmup[0]:.0f}s): {base_total / 1024:.1f} MiB; "
          f"at the end ({end[0]:.0f}s): {end_total / 1024:.1f} MiB; growth {growth:+.1%}"
          f"{'' if same_workers else ' (a worker was restarted!)'}")
    for pid in sorted(end[1]):
        first = after_warmup[1].get(pid)
        if first:
            print(f"  worker {pid}: {first / 1024:.1f} -> {end[1][pid] / 1024:.1f} MiB")
    print("server-side time per endpoint over the run (gunicorn access log), ms")
    for key, n, p50, p95, p99 in whole.table():
        print(f"  {key:<40} {n:7d} p50 {p50:6.1f} p95 {p95:6.1f} p99 {p99:6.1f}")
    path = out / f"soak-{dbname}-{stamp}.json"
    path.write_text(json.dumps({"users": args.users, "minutes": args.minutes,
                                "workers": args.workers, "results": results,
                                "samples": samples, "growth": growth, "errors": errors},
                               indent=1))
    ok = errors == 0 and growth < args.max_growth and same_workers
    print(f"{'PASS' if ok else 'FAIL'}: errors {errors}, memory growth {growth:+.1%} "
          f"(limit {args.max_growth:.0%}); samples in {path}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
