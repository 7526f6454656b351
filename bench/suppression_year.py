"""CPU of the suppression alone for realistic group-years: the figures of --groups groups of
a generated database (read only, in one read-only transaction), then each month of the year
closed in turn (January, February, ... --through) as the monthly job does, every version
kept, and only `reports.publish` timed (process CPU).

    .venv/bin/python bench/suppression_year.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench --through 2026-11

The figures can be kept in --cache (JSON), so that two versions of the code (run from
their own worktrees) time the same input.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def figures(url: str, groups: int, through: str) -> dict:
    from sqlalchemy import create_engine, select

    from harmnet.models import PeerGroup
    from harmnet.services import report_batch, reports

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    out = {}
    with engine.connect() as conn:
        conn = conn.execution_options(postgresql_readonly=True)
        ids = list(conn.scalars(select(PeerGroup.id).order_by(PeerGroup.id).limit(groups)))
        setups = report_batch.group_setups(ids)
        for gid in ids:
            setup = setups[gid]
            year = reports.year_span(through, setup.fy_start_month)
            spans = {}
            for m in year.months:
                for s in reports.published_set(m, setup.fy_start_month):
                    spans[(s.key, s.through)] = s if s.kind == "month" else reports.Span(
                        f"{s.key}@{s.through}", s.kind, s.first, s.through)
            months = [s for s in spans.values() if s.kind == "month"]
            others = [s for s in spans.values() if s.kind != "month"]
            values = reports.compute_set(lambda stmt: conn.execute(stmt).all(), [gid],
                                         months + others, tz=setup.timezone,
                                         fy_start_month=setup.fy_start_month)[gid]
            out[gid] = (setup.threshold, setup.fy_start_month, year.months,
                        {f"{key}@{through}": values[s.key]
                         for (key, through), s in spans.items()})
        conn.rollback()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--through", default="2026-11")
    parser.add_argument("--groups", type=int, default=40)
    parser.add_argument("--cache", help="a JSON file of the figures (read, else written)")
    args = parser.parse_args()
    from bench.aggregates import make_app
    from bench.settings import libpq_url

    owner = libpq_url(args.database_url)
    app = make_app(owner)
    from harmnet.services import reports

    with app.app_context():
        if args.cache and os.path.exists(args.cache):
            with open(args.cache) as f:
                data = json.load(f)
        else:
            data = figures(owner, args.groups, args.through)
            if args.cache:
                with open(args.cache, "w") as f:
                    json.dump(data, f)
        takes_seen = "seen" in inspect.signature(reports.publish).parameters
        per_year, last_month, hidden = [], [], 0
        for _gid, (k, fy, months, values) in sorted(data.items()):
            older: list = []  # quarters and years to an earlier month: (months, values)
            latest: dict = {}  # key -> payload
            cpu = 0.0
            for m in months:
                spans = reports.published_set(m, fy)
                raw = {s.key: values[f"{s.key}@{s.through}"] for s in spans}
                keep = {s.key: reports.still_hidden(latest[s.key], raw[s.key]) for s in spans
                        if s.key in latest and latest[s.key]["through"] == s.through}
                start = time.process_time()
                if takes_seen:
                    current = {(0, key): (0, "", 0, p["through"], p) for key, p in latest.items()}
                    seen = reports.seen_figures(0, spans, current, [
                        (months_, values_) for months_, values_, through in older
                        if through < m])
                    payloads = reports.publish(spans, raw, k, keep, seen)
                else:
                    payloads = reports.publish(spans, raw, k, keep)
                took = time.process_time() - start
                cpu += took
                for s in spans:
                    if latest.get(s.key) != payloads[s.key]:
                        latest[s.key] = payloads[s.key]
                        if s.kind != "month":
                            older.append((tuple(s.months), payloads[s.key]["values"],
                                          s.through))
            per_year.append(cpu)
            last_month.append(took)
            hidden += sum(v is None for p in latest.values() for c in p["values"].values()
                          for v in c.values())
    print(f"{len(per_year)} groups, months closed {months[0]}..{months[-1]}: suppression CPU "
          f"per group-year {statistics.mean(per_year) * 1000:.1f} ms (median "
          f"{statistics.median(per_year) * 1000:.1f}); closing {months[-1]} "
          f"{statistics.mean(last_month) * 1000:.2f} ms per group (median "
          f"{statistics.median(last_month) * 1000:.2f}); hidden cells in the current "
          f"versions {hidden}; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
