"""Bench: the members list's first page for a group of 5,000 while 100 other groups hold 5,000.

Usage: .venv/bin/python bench/members_list.py [--groups 101] [--per-group 5000] [--runs 50]
       [--url postgresql://...]
The database named by --url is dropped and recreated and filled with COPY. The app connects
as harmnet_app (row-level security on). Target: first page under 100 ms median.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_URL, fresh_database, make_app, sign_in  # noqa: E402

PASSWORD = "bench password 2024"
ROLES = ["peer_educator", "volunteer", "club_member", "collaborator"]
STATUSES = ["active"] * 8 + ["paused", "left"]
SYLLABLES = ["Mai", "Lan", "Hương", "Thảo", "Ngọc", "Hồng", "Trang", "Linh", "Hạnh", "Yến",
             "Phương", "Vân", "Cúc", "Đào", "Nhung", "Bích", "Thu", "Hà", "My", "Diệp"]


def fill(owner_url: str, group_ids: list[int], per_group: int, key: str) -> float:
    """COPY members into every group (as the owner, a superuser here: RLS does not apply)."""
    fernet = Fernet(key)
    phones = [fernet.encrypt(f"09{i:08d}".encode()).decode() for i in range(200)]
    now = datetime.now(UTC)
    started = time.perf_counter()
    with psycopg.connect(owner_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        with conn.cursor() as cur, cur.copy(
            "COPY members (group_id, alias, role_in_group, status, joined_on, gender,"
            " birth_year, phone, reminder_consent, notes, created_at, updated_at)"
            " FROM STDIN"
        ) as copy:
            for gid in group_ids:
                for i in range(per_group):
                    alias = f"{SYLLABLES[i % 20]} {SYLLABLES[(i // 20) % 20]} {i}"
                    copy.write_row((
                        gid, alias, ROLES[i % 4], STATUSES[i % 10],
                        date(2020, 1, 1) + timedelta(days=i % 1500), "F", 1980 + i % 25,
                        phones[i % 200] if i % 3 else None, i % 3 == 1, "", now, now,
                    ))
        conn.execute("ANALYZE members")
    return time.perf_counter() - started


def timed(client, url: str, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    for _ in range(3):
        client.get(url)  # warm up: template compile, connection pool, plan cache
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", type=int, default=101)
    parser.add_argument("--per-group", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--url", default=DEFAULT_URL)
    args = parser.parse_args()

    owner_url, app_url = fresh_database(args.url)
    key = Fernet.generate_key().decode()
    app = make_app(app_url, encryption_keys=[key])
    with app.app_context():
        from harmnet.extensions import db
        from harmnet.services import accounts, org

        org.create_department("bench", "Bench department")
        groups = [org.create_group(f"g{n:03d}", f"Group {n}", "peer_group", "bench")
                  for n in range(args.groups)]
        user = accounts.create_user("bench-coord", "Bench", PASSWORD)
        org.grant_group_role(groups[0], user, "coordinator")
        db.session.commit()
        group_ids = [g.id for g in groups]
    seconds = fill(owner_url, group_ids, args.per_group, key)
    total = args.groups * args.per_group
    print(f"filled {total:,} members in {args.groups} groups in {seconds:.1f} s (COPY)")

    client = app.test_client()
    sign_in(client, "bench-coord", PASSWORD)
    for label, url in [
        ("first page", "/g/g000/members/"),
        ("search 'Mai'", "/g/g000/members/?q=Mai"),
        ("filter active volunteers", "/g/g000/members/?role=volunteer&status=active"),
        ("page 100", "/g/g000/members/?page=100"),
    ]:
        median, p95 = timed(client, url, args.runs)
        print(f"{label:28s} median {median:6.1f} ms   p95 {p95:6.1f} ms")
    print("target: first page median < 100 ms")


if __name__ == "__main__":
    main()
