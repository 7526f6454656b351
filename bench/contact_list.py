"""The contact list's first page with 1,000,000 contacts across 200 groups (target median
under 100 ms).

    .venv/bin/python bench/contact_list.py                      # full scale (about 2-4 min)
    .venv/bin/python bench/contact_list.py --contacts 100000    # quick
    .venv/bin/python bench/contact_list.py --use-existing \\
        --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench   # generate.py's

Unless --use-existing, the database (default harmnet_contacts_bench) is dropped, migrated,
and filled with PostgreSQL COPY: 200 groups of skewed size, their logins, pseudonymous
clients, a year of contacts and some referrals. (To load fast, the contact tables' secondary
indexes are dropped and rebuilt, and their triggers (the foreign-key checks) are off during
the COPY: the generated rows are consistent by construction.) Then the app, connected as the
non-owner role with row-level security on, serves the list in-process; it prints the median
and p95 of the first page for a coordinator (all of the group, with and without filters) and
for a peer educator (their own), in the largest group and in a median-sized one.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from datetime import UTC, datetime, timedelta

import psycopg
from contacts_common import (
    DEFAULT_URL,
    PASSWORD,
    libpq_url,
    make_app,
    recreate_database,
    sign_in,
    summary,
)

BIG_TABLES = ("clients", "contacts", "referrals")
CHANNELS = ["in_person"] * 4 + ["zalo"] * 3 + ["messenger", "phone", "group_session", "other"]
SERVICES = ["hiv_test"] * 4 + ["hepatitis_test", "tb_screening", "prep", "sti_care",
                               "legal_aid", "pep"]
STATUSES = ["referred", "booked", "completed", "completed", "declined", "lost"]
PEERS_PER_GROUP = 4


def populate(url: str, groups: int, contacts: int, seed: int) -> None:
    from harmnet.security import hash_password

    rng = random.Random(seed)
    now = datetime.now(UTC)
    today = now.date()
    pw = hash_password(PASSWORD)
    weights = [rng.lognormvariate(0, 0.6) for _ in range(groups)]
    scale = contacts / sum(weights)
    sizes = [max(1, int(w * scale)) for w in weights]
    sizes[0] += contacts - sum(sizes)

    with psycopg.connect(libpq_url(url), autocommit=False) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO departments (id, code, name, suppression_threshold, "
                    "fiscal_year_start_month, created_at) VALUES (1, 'bench', 'Bench', 5, 1, "
                    "now())")
        with cur.copy("COPY peer_groups (id, slug, name, kind, department_id, area, timezone,"
                      " locale, settings, is_active, created_at) FROM STDIN") as cp:
            for g in range(1, groups + 1):
                cp.write_row((g, f"g{g:04d}", f"Nhóm {g}", "peer_group", 1, "",
                              "Asia/Ho_Chi_Minh", "vi", "{}", True, now))
        user_id = 0
        peers: dict[int, list[int]] = {}
        with cur.copy("COPY users (id, login, display_name, password_hash, locale, is_active,"
                      " is_admin, session_version, created_at) FROM STDIN") as cp:
            for g in range(1, groups + 1):
                user_id += 1
                cp.write_row((user_id, f"coord-{g:04d}", f"Điều phối {g}", pw, "vi", True,
                              False, 1, now))
                peers[g] = []
                for k in range(PEERS_PER_GROUP):
                    user_id += 1
                    peers[g].append(user_id)
                    cp.write_row((user_id, f"peer-{g:04d}-{k}", f"Đồng đẳng {g}-{k}", pw, "vi",
                                  True, False, 1, now))
        with cur.copy("COPY group_memberships (id, group_id, user_id, role, is_active, "
                      "created_at) FROM STDIN") as cp:
            mid = 0
            for g in range(1, groups + 1):
                coord = peers[g][0] - 1
                for uid, role in [(coord, "coordinator")] + [(p, "peer_educator")
                                                             for p in peers[g]]:
                    mid += 1
                    cp.write_row((mid, g, uid, role, True, now))
        conn.commit()

        # Bulk-load the big tables without their secondary indexes and FK triggers.
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) AND "
                    "indexname NOT IN (SELECT conname FROM pg_constraint)", (list(BIG_TABLES),))
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        for table in BIG_TABLES:
            cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")

        conn.commit()
        client_id = contact_id = referral_id = 0
        # One connection per COPY: a connection carries one COPY at a time.
        with psycopg.connect(libpq_url(url)) as conn1, \
                psycopg.connect(libpq_url(url)) as conn2, \
                psycopg.connect(libpq_url(url)) as conn3, \
                conn1.cursor() as c1, conn2.cursor() as c2, conn3.cursor() as c3, \
                c1.copy("COPY clients (id, group_id, pseudonym, first_contact_on, sex, "
                         "age_band, created_at) FROM STDIN") as clients_cp, \
                c2.copy("COPY contacts (id, group_id, occurred_on, channel, client_id, "
                        "participants_count, peer_educator_id, counselling_topics, condoms, "
                        "lubricants, leaflets, self_test_kits, notes, idempotency_key, "
                        "created_at, updated_at) FROM STDIN") as contacts_cp, \
                c3.copy("COPY referrals (id, group_id, contact_id, client_id, service, "
                        "status, referred_on, completed_on, updated_at) FROM STDIN") as ref_cp:
            for g in range(1, groups + 1):
                n = sizes[g - 1]
                pool: list[int] = []
                days = sorted(rng.randrange(365) for _ in range(n))
                for i, back in enumerate(reversed(days)):
                    day = today - timedelta(days=back)
                    channel = rng.choice(CHANNELS)
                    contact_id += 1
                    cid = None
                    if channel != "group_session":
                        if pool and rng.random() < 0.6:
                            cid = rng.choice(pool)
                        else:
                            client_id += 1
                            cid = client_id
                            pool.append(cid)
                            clients_cp.write_row((cid, g, f"{rng.getrandbits(256):064x}", day,
                                                  rng.choice("FFFFT"), "25-34", now))
                    contacts_cp.write_row((
                        contact_id, g, day, channel, cid,
                        rng.randint(5, 25) if cid is None else None, rng.choice(peers[g]),
                        '["safer_sex"]' if i % 3 == 0 else "[]", rng.choice((0, 5, 10)),
                        rng.choice((0, 2)), rng.choice((0, 1)), 0, "", f"b{contact_id}",
                        now, now))
                    if cid is not None and rng.random() < 0.15:
                        referral_id += 1
                        status = rng.choice(STATUSES)
                        ref_cp.write_row((referral_id, g, contact_id, cid, rng.choice(SERVICES),
                                          status, day, day if status == "completed" else None,
                                          now))
        for table in BIG_TABLES:
            cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
        for _, definition in indexes:
            cur.execute(definition)
        for table in ("departments", "peer_groups", "users", "group_memberships", *BIG_TABLES):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))")
        conn.commit()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for table in ("peer_groups", "users", "group_memberships", *BIG_TABLES):
            conn.execute(f"ANALYZE {table}")


def pick_groups(url: str) -> list[tuple[str, str, str, int]]:
    """(label, slug, coordinator login, contacts) for the largest and a median-sized group."""
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT g.id, g.slug, count(*) FROM contacts c JOIN peer_groups g ON g.id = "
            "c.group_id GROUP BY g.id, g.slug ORDER BY 3 DESC").fetchall()
        picked = [("largest", rows[0]), ("median", rows[len(rows) // 2])]
        result = []
        for label, (gid, slug, count) in picked:
            login = conn.execute(
                "SELECT u.login FROM group_memberships m JOIN users u ON u.id = m.user_id "
                "WHERE m.group_id = %s AND m.role = 'coordinator' ORDER BY u.id LIMIT 1",
                (gid,)).fetchone()[0]
            peer = conn.execute(
                "SELECT u.login FROM contacts c JOIN users u ON u.id = c.peer_educator_id "
                "WHERE c.group_id = %s GROUP BY u.login ORDER BY count(*) DESC LIMIT 1",
                (gid,)).fetchone()[0]
            result.append((label, slug, login, peer, count))
        total = conn.execute("SELECT count(*), count(DISTINCT group_id) FROM contacts")
        rows_count, group_count = total.fetchone()
        print(f"contacts in the table: {rows_count} across {group_count} groups")
    return result


def measure(client, path: str, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for i in range(runs + 5):
        start = time.perf_counter()
        response = client.get(path)
        took = time.perf_counter() - start
        assert response.status_code == 200, (path, response.status_code)
        if i >= 5:
            times.append(took)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--use-existing", action="store_true",
                        help="measure an existing database (e.g. bench/generate.py's)")
    args = parser.parse_args()

    if not args.use_existing:
        start = time.perf_counter()
        recreate_database(args.database_url)
        populate(args.database_url, args.groups, args.contacts, args.seed)
        print(f"populated in {time.perf_counter() - start:.1f} s")
    app = make_app(args.database_url)
    for label, slug, coordinator, peer, count in pick_groups(args.database_url):
        print(f"-- {label} group {slug}: {count} contacts")
        client = app.test_client()
        sign_in(client, coordinator)
        base = f"/g/{slug}/contacts/"
        print(summary("  coordinator, first page", measure(client, base, args.runs)))
        print(summary("  coordinator, channel=zalo", measure(client, base + "?channel=zalo",
                                                               args.runs)))
        print(summary("  coordinator, service=hiv_test",
                      measure(client, base + "?service=hiv_test", args.runs)))
        print(summary("  coordinator, page 20", measure(client, base + "?page=20", args.runs)))
        client = app.test_client()
        sign_in(client, peer)
        print(summary("  peer educator, own first page", measure(client, base, args.runs)))
    print(f"load average while running: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
