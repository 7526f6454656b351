"""Contact POST latency on PostgreSQL, one user (target: p95 under 50 ms).

    .venv/bin/python bench/contact_post.py [--database-url URL] [--posts 300]

The database (default harmnet_contacts_bench) is dropped and recreated. The app connects as
the non-owner role `harmnet_app`, so row-level security is on, as in production. Each
iteration GETs the entry page (not timed: it mints the idempotency token) and POSTs one
contact through the whole Flask stack in-process (no network): a mix of returning and new
clients, small-group sessions, referrals and appointments with reminders. It prints the
POST median and p95 (wall clock), the app process's own CPU time per POST (which a busy
machine does not inflate), the entry page's GET time, and the load average.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from contacts_common import (
    DEFAULT_URL,
    PASSWORD,
    form_tokens,
    make_app,
    recreate_database,
    sign_in,
    summary,
)

MOTHERS = ["Hương", "Lan", "Mai", "Hoa", "Thu", "Hằng", "Nga", "Yến", "Loan", "Tuyết"]
FATHERS = ["Đức", "Minh", "Hùng", "Dũng", "Tuấn", "Nam", "Quang", "Bình", "Sơn", "Thắng"]


def setup(app) -> list[int]:  # type: ignore[no-untyped-def]
    from harmnet.extensions import db
    from harmnet.services import accounts, org, providers
    from harmnet.tenancy import group_context

    with app.app_context():
        org.create_department("bench", "Bench department")
        group = org.create_group("bench-group", "Bench group", "peer_group", "bench")
        user = accounts.create_user("bench-peer", "Bench peer", PASSWORD)
        org.grant_group_role(group, user, "peer_educator")
        with group_context(group.id):
            ids = [providers.create_provider(group.id, name=f"Clinic {i}",
                                             services=["hiv_test", "pep", "legal_aid"]).id
                   for i in range(5)]
        db.session.commit()
        return ids


def one_form(rng: random.Random, html: str, provider_ids: list[int], today) -> dict:  # type: ignore[no-untyped-def]
    csrf, key = form_tokens(html)
    data = {"csrf_token": csrf, "idempotency_key": key, "action": "save",
            "occurred_on": today.isoformat(), "condoms": str(rng.choice([0, 5, 10])),
            "lubricants": str(rng.choice([0, 2])), "topics": ["safer_sex"]}
    if rng.random() < 0.1:
        data.update(channel="group_session", participants=str(rng.randint(5, 20)))
        return data
    data.update(channel=rng.choice(["in_person", "zalo", "messenger"]),
                mother=rng.choice(MOTHERS), father=rng.choice(FATHERS),
                sex=rng.choice("FFFT"), birth_year=str(rng.randint(1975, 2005)))
    if rng.random() < 0.3:
        data["referrals-0-service"] = rng.choice(["hiv_test", "pep", "legal_aid"])
        data["referrals-0-provider"] = str(rng.choice(provider_ids))
        if rng.random() < 0.4:
            day = today + timedelta(days=rng.randint(1, 10))
            data.update({"referrals-0-appt_date": day.isoformat(),
                         "referrals-0-appt_time": "10:00",
                         "referrals-0-reminder_consent": "y",
                         "referrals-0-reminder_channel": "sms",
                         "referrals-0-contact_value": "0912 345 678"})
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()

    recreate_database(args.database_url)
    app = make_app(args.database_url)
    provider_ids = setup(app)
    rng = random.Random(1)
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    client = app.test_client()
    sign_in(client, "bench-peer")
    posts, gets, cpu = [], [], []
    for i in range(args.warmup + args.posts):
        start = time.perf_counter()
        page = client.get("/g/bench-group/contacts/new")
        got = time.perf_counter() - start
        data = one_form(rng, page.get_data(as_text=True), provider_ids, today)
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.post("/g/bench-group/contacts/new", data=data)
        took, took_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        assert response.status_code == 302, (response.status_code,
                                             response.get_data(as_text=True)[:2000])
        if i >= args.warmup:
            posts.append(took)
            gets.append(got)
            cpu.append(took_cpu)
    print(summary("contact POST (save + redirect)", posts))
    print(summary("contact POST, CPU of the app process only", cpu))
    print(summary("entry page GET", gets))
    print(f"load average while running: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
