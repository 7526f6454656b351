"""Realistic synthetic harmnet data at scale, written to PostgreSQL with COPY.

Usage (from the repository root; the database is dropped and recreated):

    .venv/bin/python bench/generate.py --groups 20 --contacts 100000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench_small
    .venv/bin/python bench/generate.py --groups 1000 --contacts 10000000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/harmnet_bench --seed 1

The URL names a superuser (or the owner): the schema is made by the project's migrations
(`flask db upgrade`, then `flask db-app-role harmnet_app`), exactly as in production. To load
fast, the generator then drops the indexes and constraints of the big tables, streams every
table through its own COPY connection in one pass over the history (`--days` or `--years`,
~12 months by default; day by day, all groups interleaved, as real data would be laid out
on disk), rebuilds the indexes in parallel,
re-adds and validates the foreign keys, and checks that the final schema equals the migrated
one. Every login's password is `bench-pass-2024` (bench/settings.py). Logins:
`peer-<group>-<nn>` (peer educators), `coord-<group>` (coordinators), `dept-<code>`
(department viewers), `admin`; e.g. `peer-0001-01` in group `hoa-sen-0001`.

What it makes, per group: a department tree (national, provinces, districts), members,
peer-educator and coordinator logins, a provider directory, two trainings a month with roll
calls, pseudonymous clients (random 64-hex pseudonyms, one per client), contacts (one-to-one,
online and small-group sessions), referrals with outcomes that depend on their age, booked
appointments (contact values kept, encrypted, only for future ones), and their reminders.
Group sizes are skewed (a few large groups, many small ones), activity grows through each
calendar year, dips at Tết and on Sundays, and runs up to today, so monthly reports and
follow-up lists have realistic inputs. Clients stay active for a while (90 days on average)
and then move on while new ones keep arriving, so the clients a month reaches come from a
stationary pool: with the same contacts per year, a month of the last year has about the
same contacts, distinct clients and referrals after one year of history as after five.
Report snapshots are left to the aggregates job.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.settings import APP_ROLE, BENCH_ENV, PASSWORD, ROOT, fernet_key, libpq_url  # noqa: E402

#: Tables whose indexes and constraints are dropped for the load and rebuilt after it.
BIG_TABLES = ("clients", "contacts", "referrals", "appointments", "reminders", "attendances")

NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.astimezone(UTC).date()  # close enough to the Vietnam date for a benchmark

# --- vocabularies --------------------------------------------------------------------------

PROVINCES = (
    "Hà Nội", "TP Hồ Chí Minh", "Hải Phòng", "Đà Nẵng", "Cần Thơ", "An Giang",
    "Bà Rịa - Vũng Tàu", "Bắc Giang", "Bắc Kạn", "Bạc Liêu", "Bắc Ninh", "Bến Tre", "Bình Định",
    "Bình Dương", "Bình Phước", "Bình Thuận", "Cà Mau", "Cao Bằng", "Đắk Lắk", "Đắk Nông",
    "Điện Biên", "Đồng Nai", "Đồng Tháp", "Gia Lai", "Hà Giang", "Hà Nam", "Hà Tĩnh",
    "Hải Dương", "Hậu Giang", "Hòa Bình", "Hưng Yên", "Khánh Hòa", "Kiên Giang", "Kon Tum",
    "Lai Châu", "Lâm Đồng", "Lạng Sơn", "Lào Cai", "Long An", "Nam Định", "Nghệ An",
    "Ninh Bình", "Ninh Thuận", "Phú Thọ", "Phú Yên", "Quảng Bình", "Quảng Nam", "Quảng Ngãi",
    "Quảng Ninh", "Quảng Trị", "Sóc Trăng", "Sơn La", "Tây Ninh", "Thái Bình", "Thái Nguyên",
    "Thanh Hóa", "Thừa Thiên Huế", "Tiền Giang", "Trà Vinh", "Tuyên Quang", "Vĩnh Long",
    "Vĩnh Phúc", "Yên Bái",
)
GROUP_NAMES = (
    ("hoa-sen", "Hoa Sen"), ("song-hong", "Sông Hồng"), ("hoa-mai", "Hoa Mai"),
    ("binh-minh", "Bình Minh"), ("hoa-dao", "Hoa Đào"), ("anh-duong", "Ánh Dương"),
    ("hoa-hong", "Hoa Hồng"), ("vang-trang", "Vầng Trăng"), ("hoa-cuc", "Hoa Cúc"),
    ("tuong-lai", "Tương Lai"), ("hoa-lan", "Hoa Lan"), ("niem-tin", "Niềm Tin"),
    ("hoa-phuong", "Hoa Phượng"), ("ban-tay", "Bàn Tay Nhỏ"), ("sao-mai", "Sao Mai"),
    ("hy-vong", "Hy Vọng"),
)
KIND_PREFIX = {"peer_group": "Nhóm đồng đẳng", "self_help_group": "Nhóm tự lực",
               "club": "CLB"}
ALIASES = (
    "Mai", "Lan", "Hoa", "Thu", "Hương", "Ngọc", "Linh", "Trang", "Hà", "Yến", "Nhung",
    "Thảo", "Phương", "Vy", "Nga", "Hằng", "Duyên", "Oanh", "Loan", "Hạnh", "Tuyết", "Diệp",
    "My", "Quyên", "Kim", "Bích", "Huyền", "Liên", "Nhi", "Tâm", "Ánh", "Châu",
)
NOTES = ("", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
         "Hẹn gặp lại tuần sau.", "Cần tư vấn thêm về PrEP.", "Đã gửi tờ rơi qua Zalo.",
         "Khách hàng cũ, đến cùng bạn.")

# Weighted pick tables: t[int(random() * len(t))] is a weighted choice with one call.


def table(weights: dict[str, int]) -> list[str]:
    return [k for k, w in weights.items() for _ in range(w)]


CHANNELS = table({"in_person": 45, "zalo": 22, "messenger": 12, "phone": 8,
                  "group_session": 8, "other": 5})
SEX = table({"F": 85, "T": 10, "M": 5})
AGE_BANDS = table({"<18": 2, "18-24": 28, "25-34": 40, "35-49": 25, "50+": 5})
SERVICES = table({
    "hiv_test": 30, "hepatitis_test": 12, "sti_care": 10, "prep": 8, "health_care": 8,
    "tb_screening": 7, "legal_aid": 4, "psych_counselling": 4, "pep": 3, "gbv_support": 3,
    "vocational_training": 3, "hiv_treatment": 2, "jobs": 2, "loans": 2, "social_protection": 2,
})
TOPIC_SETS = [json.dumps(t) for t in (
    ["safer_sex"], ["safer_sex", "hiv_sti"], ["hiv_sti"], ["pep_prep"], ["safer_sex", "pep_prep"],
    ["drug_use"], ["gbv"], ["legal_rights"], ["mental_health"], ["safer_sex", "gbv"],
    ["hiv_sti", "pep_prep"], [], [], ["other"],
)]
MEMBER_ROLES = table({"volunteer": 3, "club_member": 5, "collaborator": 2})
TRAINING_TOPICS = (
    ("harm_reduction", "Giảm hại cơ bản"), ("hiv_sti_prevention", "Dự phòng HIV và STI"),
    ("pep_prep", "PEP và PrEP"), ("gbv_prevention", "Phòng chống bạo lực giới"),
    ("legal_labour_rights", "Quyền lao động và pháp lý"),
    ("outreach_communication", "Kỹ năng tiếp cận cộng đồng"),
    ("counselling_skills", "Kỹ năng tư vấn"), ("first_aid", "Sơ cấp cứu"),
    ("vocational", "Định hướng học nghề"),
)
PROVIDER_TEMPLATES = (
    ("Phòng khám ngoại trú HIV {a}", ["hiv_test", "hiv_treatment", "prep", "pep"]),
    ("Trung tâm Y tế {a}", ["hiv_test", "hepatitis_test", "tb_screening", "sti_care",
                            "health_care"]),
    ("Phòng khám Da liễu {a}", ["sti_care"]),
    ("Điểm cấp PrEP {a}", ["prep", "pep", "hiv_test"]),
    ("Bệnh viện Phổi {a}", ["tb_screening"]),
    ("Trợ giúp pháp lý {a}", ["legal_aid"]),
    ("Tư vấn tâm lý Bình An {a}", ["psych_counselling", "gbv_support"]),
    ("Nhà tạm lánh {a}", ["gbv_support"]),
    ("Trung tâm Giáo dục nghề nghiệp {a}", ["vocational_training", "jobs"]),
    ("Ngân hàng Chính sách xã hội {a}", ["loans"]),
    ("Phòng LĐ-TB&XH {a} (bảo trợ xã hội)", ["social_protection"]),
)


# --- small helpers -------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def ts(day: date, hour: int, minute: int = 0) -> str:
    """A Vietnam-local wall time as a timestamptz literal PostgreSQL parses."""
    return f"{day.isoformat()} {hour:02d}:{minute:02d}:00+07"


def hex64(rnd: random.Random) -> str:
    return f"{rnd.getrandbits(256):064x}"


def hex32(rnd: random.Random) -> str:
    return f"{rnd.getrandbits(128):032x}"


class Stream:
    """One COPY into one table on its own connection, fed with buffered text lines.

    Each table has its own backend, so PostgreSQL parses and stores the tables in parallel
    while this process generates rows. FREEZE (after a TRUNCATE in the same transaction)
    writes the rows already frozen and all-visible: no VACUUM pass over 10 million rows.
    """

    FLUSH_BYTES = 1 << 20

    def __init__(self, url: str, table_name: str, columns: str, freeze: bool) -> None:
        self.table = table_name
        self.conn = psycopg.connect(url)
        self.conn.execute("SET synchronous_commit = off")
        if freeze:
            self.conn.execute(f"TRUNCATE {table_name}")
        options = " WITH (FREEZE)" if freeze else ""
        self.cursor = self.conn.cursor()
        self._ctx = self.cursor.copy(f"COPY {table_name} ({columns}) FROM STDIN{options}")
        self.copy = self._ctx.__enter__()
        self.buf: list[str] = []
        self.size = 0
        self.rows = 0

    def add(self, line: str) -> None:
        self.buf.append(line)
        self.size += len(line)
        if self.size > self.FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            self.rows += len(self.buf)
            self.copy.write("".join(self.buf))
            self.buf = []
            self.size = 0

    def close(self) -> None:
        self.flush()
        self._ctx.__exit__(None, None, None)
        self.conn.commit()
        self.conn.close()


# --- database creation and schema handling -------------------------------------------------


def recreate_database(url: str) -> None:
    info = psycopg.conninfo.conninfo_to_dict(url)
    name = info["dbname"]
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def migrate(url: str, app_role: str) -> None:
    """Create the schema with the project's own migrations, then the app role's grants."""
    with tempfile.TemporaryDirectory(prefix="harmnet-gen-") as instance:
        env = dict(os.environ, DATABASE_URL=url, MIGRATION_DATABASE_URL=url,
                   HARMNET_ENV="development", HARMNET_INSTANCE_DIR=instance, **BENCH_ENV)
        env.pop("REDIS_URL", None)
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([*flask, "db-app-role", app_role], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)


def schema_signature(conn: psycopg.Connection) -> dict[str, list]:
    """Everything that makes the schema what it is: columns, constraints, indexes, RLS,
    policies, grants. Compared before and after the load."""
    queries = {
        "columns": """SELECT table_name, column_name, ordinal_position, data_type,
                      character_maximum_length, is_nullable, column_default
                      FROM information_schema.columns WHERE table_schema = 'public'""",
        "constraints": """SELECT conrelid::regclass::text, conname, contype,
                          pg_get_constraintdef(oid), convalidated, condeferrable
                          FROM pg_constraint WHERE connamespace = 'public'::regnamespace""",
        "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes "
                   "WHERE schemaname = 'public'",
        "rls": """SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class
                  WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'""",
        "policies": "SELECT tablename, policyname, cmd, roles::text, qual, with_check "
                    "FROM pg_policies WHERE schemaname = 'public'",
        "grants": "SELECT grantee, table_name, privilege_type FROM "
                  "information_schema.role_table_grants WHERE table_schema = 'public'",
        "sequences": "SELECT sequence_name, data_type FROM information_schema.sequences "
                     "WHERE sequence_schema = 'public'",
    }
    return {k: sorted(map(tuple, conn.execute(q).fetchall()), key=repr)
            for k, q in queries.items()}


@dataclass
class Plan:
    """The indexes and constraints taken off the big tables, to put back after the load."""

    indexes: list[tuple[str, str, str]] = field(default_factory=list)  # (table, name, def)
    keys: list[tuple[str, str, str, str]] = field(default_factory=list)  # (table, name, type, idx)
    fks: list[tuple[str, str, str]] = field(default_factory=list)  # (table, name, def)


def strip_big_tables(conn: psycopg.Connection) -> Plan:
    plan = Plan()
    big = list(BIG_TABLES)
    plan.fks = [tuple(r) for r in conn.execute(
        """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
           FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace
           AND (conrelid::regclass::text = ANY(%s) OR confrelid::regclass::text = ANY(%s))""",
        (big, big)).fetchall()]
    plan.keys = [tuple(r) for r in conn.execute(
        """SELECT conrelid::regclass::text, conname, contype, conindid::regclass::text
           FROM pg_constraint WHERE contype IN ('p', 'u')
           AND conrelid::regclass::text = ANY(%s)""", (big,)).fetchall()]
    plan.indexes = [tuple(r) for r in conn.execute(
        "SELECT tablename, indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = 'public' AND tablename = ANY(%s)", (big,)).fetchall()]
    for tbl, name, _ in plan.fks:
        conn.execute(f'ALTER TABLE {tbl} DROP CONSTRAINT "{name}"')
    for tbl, name, _, _ in plan.keys:
        conn.execute(f'ALTER TABLE {tbl} DROP CONSTRAINT "{name}"')
    for _, name, _ in plan.indexes:
        conn.execute(f'DROP INDEX IF EXISTS "{name}"')
    conn.commit()
    return plan


def run_parallel(url: str, statements: list[str], jobs: int, setup: list[str]) -> None:
    """Run statements on `jobs` connections, longest-first order kept by the caller."""
    queue = list(statements)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            for s in setup:
                conn.execute(s)
            while True:
                with lock:
                    if not queue or errors:
                        return
                    statement = queue.pop(0)
                try:
                    started = time.monotonic()
                    conn.execute(statement)
                    log(f"  {time.monotonic() - started:6.1f}s  {statement[:110]}")
                except BaseException as exc:  # noqa: BLE001 - reported after the join
                    errors.append(exc)
                    return

    threads = [threading.Thread(target=worker) for _ in range(max(1, jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def rebuild(url: str, plan: Plan, jobs: int, sizes: dict[str, int]) -> None:
    setup = ["SET maintenance_work_mem = '512MB'", "SET max_parallel_maintenance_workers = 0"]
    # Biggest tables first, so the two workers finish together.
    by_size = sorted(plan.indexes, key=lambda i: -sizes.get(i[0], 0))
    log("rebuilding indexes")
    run_parallel(url, [d for _, _, d in by_size], jobs, setup)
    with psycopg.connect(url, autocommit=True) as conn:
        # The indexes exist; attaching them as the migrated constraints is instantaneous.
        for tbl, name, kind, index in sorted(plan.keys, key=lambda k: k[2]):  # p before u
            what = "PRIMARY KEY" if kind == "p" else "UNIQUE"
            conn.execute(f'ALTER TABLE {tbl} ADD CONSTRAINT "{name}" {what} USING INDEX "{index}"')
        for tbl, name, definition in plan.fks:
            conn.execute(f'ALTER TABLE {tbl} ADD CONSTRAINT "{name}" {definition} NOT VALID')
    # Validation proves every generated reference stays inside its group. One worker per
    # table at a time (VALIDATE locks the table against itself), tables spread over workers.
    log("validating foreign keys")
    per_table: dict[str, list[str]] = defaultdict(list)
    for tbl, name, _ in plan.fks:
        per_table[tbl].append(f'ALTER TABLE {tbl} VALIDATE CONSTRAINT "{name}"')
    batches = sorted(per_table.items(), key=lambda kv: -sizes.get(kv[0], 0))
    run_parallel(url, ["; ".join(v) for _, v in batches], jobs,
                 ["SET maintenance_work_mem = '512MB'", "SET work_mem = '256MB'"])


# --- the generator -------------------------------------------------------------------------


@dataclass
class Group:
    id: int
    index: int
    slug: str
    department_id: int
    contacts: int
    peer_educators: list[int] = field(default_factory=list)  # user ids
    members: list[int] = field(default_factory=list)  # active member ids
    clients: list[int] = field(default_factory=list)  # active clients (some just expired)
    until: list[int] = field(default_factory=list)  # each one's last active day index
    providers: dict[str, list[int]] = field(default_factory=dict)  # service -> ids


COLUMNS = {
    "departments": "id, code, name, parent_id, suppression_threshold, fiscal_year_start_month,"
                   " created_at",
    "peer_groups": "id, slug, name, kind, department_id, area, timezone, locale, settings,"
                   " is_active, created_at",
    "users": "id, login, display_name, email, password_hash, locale, is_active, is_admin,"
             " totp_secret, session_version, created_at, last_login_at",
    "department_roles": "id, department_id, user_id, role, created_at",
    "members": "id, group_id, alias, role_in_group, status, joined_on, paused_on, left_on,"
               " gender, birth_year, phone, reminder_consent, notes, created_at, updated_at",
    "group_memberships": "id, group_id, user_id, role, member_id, is_active, created_at",
    "providers": "id, group_id, name, services, address, opening_hours, phone, is_active,"
                 " created_at",
    "trainings": "id, group_id, title, topic, starts_at, duration_minutes, location,"
                 " facilitator, capacity, status, created_at",
    "attendances": "id, group_id, training_id, member_id, status, updated_at",
    "clients": "id, group_id, pseudonym, first_contact_on, sex, age_band, created_at",
    "contacts": "id, group_id, occurred_on, channel, client_id, participants_count,"
                " peer_educator_id, counselling_topics, condoms, lubricants, leaflets,"
                " self_test_kits, notes, idempotency_key, deleted_at, delete_reason,"
                " created_at, updated_at",
    "referrals": "id, group_id, contact_id, client_id, service, provider_id, status,"
                 " referred_on, completed_on, updated_at",
    "appointments": "id, group_id, referral_id, provider_id, scheduled_at, status,"
                    " reminder_consent, channel, contact_value, purge_after, created_at,"
                    " updated_at",
    "reminders": "id, group_id, appointment_id, attendance_id, send_at, channel, status,"
                 " attempts, last_error, provider_message_id, idempotency_key, claimed_at,"
                 " sent_at, created_at",
}
N = r"\N"
#: A client's mean active span in days (exponential): about one contact a month while active.
SPAN_DAYS = 90


class Generator:
    def __init__(self, args: argparse.Namespace, url: str) -> None:
        self.args = args
        self.url = url
        self.rnd = random.Random(args.seed)
        self.np = np.random.default_rng(args.seed)
        self.days = [TODAY - timedelta(days=args.days - 1 - i) for i in range(args.days)]
        self.day_iso = [d.isoformat() for d in self.days]
        self.streams: dict[str, Stream] = {}
        self.groups: list[Group] = []

    # The org side: small tables, written first.
    def org(self) -> None:
        rnd, args = self.rnd, self.args
        from cryptography.fernet import Fernet

        from harmnet.security import hash_password

        fernet = Fernet(fernet_key())
        password_hash = hash_password(PASSWORD)  # hashed once, reused by every login
        self.phones = [fernet.encrypt(f"09{rnd.randrange(10**8):08d}".encode()).decode()
                       for _ in range(256)]
        created = ts(self.days[0] - timedelta(days=30), 9)
        deps = self.streams["departments"]
        users = self.streams["users"]
        droles = self.streams["department_roles"]
        n_prov = max(1, min(len(PROVINCES), args.groups // 16))
        n_dist = max(1, args.groups // 3)  # about three groups per district
        ids = {"dep": 0, "user": 0, "drole": 0}

        def nid(kind: str) -> int:
            ids[kind] += 1
            return ids[kind]

        def user(login: str, name: str) -> int:
            uid = nid("user")
            users.add(f"{uid}\t{login}\t{name}\t{N}\t{password_hash}\tvi\tt\t"
                      f"{'t' if login == 'admin' else 'f'}\t{N}\t1\t{created}\t{N}\n")
            return uid

        def department(code: str, name: str, parent: int | None) -> int:
            did = nid("dep")
            deps.add(f"{did}\t{code}\t{name}\t{N if parent is None else parent}\t5\t1\t"
                     f"{created}\n")
            uid = user(f"dept-{code}", f"Cán bộ {name}"[:120])
            droles.add(f"{nid('drole')}\t{did}\t{uid}\tviewer\t{created}\n")
            return did

        user("admin", "Quản trị nền tảng")
        root = department("vn", "Cục Phòng, chống tệ nạn xã hội (Bộ LĐ-TB&XH)", None)
        provinces = [department(f"t{p + 1:02d}", f"Sở LĐ-TB&XH {PROVINCES[p]}", root)
                     for p in range(n_prov)]
        districts: list[tuple[int, int, str]] = []  # (id, province index, area)
        for d in range(n_dist):
            p = d % n_prov
            code = f"t{p + 1:02d}-q{d // n_prov + 1:02d}"
            area = f"Quận {d // n_prov + 1}, {PROVINCES[p]}"
            districts.append((department(code, f"Phòng LĐ-TB&XH {area}", provinces[p]), p, area))

        # Group sizes: log-normal, so a few big city groups and many small rural ones.
        weights = self.np.lognormal(0.0, 0.8, args.groups)
        counts = self.np.multinomial(args.contacts, weights / weights.sum()).tolist()
        groups = self.streams["peer_groups"]
        for i in range(args.groups):
            did, p, area = districts[i % n_dist]
            if i % 5 == 4:  # some groups report straight to the province
                did, area = provinces[p], PROVINCES[p]
            base, label = GROUP_NAMES[i % len(GROUP_NAMES)]
            kind = ("peer_group", "peer_group", "self_help_group", "club")[i % 4]
            slug = f"{base}-{i + 1:04d}"
            groups.add(f"{i + 1}\t{slug}\t{KIND_PREFIX[kind]} {label} {i + 1}\t{kind}\t{did}\t"
                       f"{area}\tAsia/Ho_Chi_Minh\tvi\t{{}}\tt\t{created}\n")
            self.groups.append(Group(i + 1, i, slug, did, counts[i]))

        # Logins, members and memberships of each group.
        members = self.streams["members"]
        memberships = self.streams["group_memberships"]
        mid = msid = 0
        for grp in self.groups:
            # The team follows the yearly activity, not the length of the history.
            yearly = grp.contacts * 365 // max(len(self.days), 1)
            n_pe = max(3, min(40, 3 + yearly // 900))
            n_other = rnd.randint(5, 15) + n_pe // 2
            joined = self.days[0] - timedelta(days=rnd.randint(30, 900))
            for k in range(1 + n_pe + n_other):
                mid += 1
                alias = ALIASES[(grp.index * 7 + k) % len(ALIASES)]
                if k == 0:
                    role, status, alias = "peer_educator", "active", f"Chị {alias}"
                elif k <= n_pe:
                    role, status = "peer_educator", "active"
                else:
                    role = MEMBER_ROLES[int(rnd.random() * len(MEMBER_ROLES))]
                    status = rnd.choice(("active",) * 8 + ("paused", "left"))
                left = self.day_iso[rnd.randrange(len(self.days))] if status == "left" else N
                paused = self.day_iso[rnd.randrange(len(self.days))] if status == "paused" else N
                gender = "F" if rnd.random() < 0.85 else rnd.choice("TMX")
                phone = self.phones[rnd.randrange(256)] if rnd.random() < 0.7 else N
                consent = "t" if phone != N and rnd.random() < 0.6 else "f"
                members.add(f"{mid}\t{grp.id}\t{alias} {k + 1}\t{role}\t{status}\t"
                            f"{joined.isoformat()}\t{paused}\t{left}\t{gender}\t"
                            f"{rnd.randint(1970, 2005)}\t{phone}\t{consent}\t\t{created}\t"
                            f"{created}\n")
                if status == "active":
                    grp.members.append(mid)
                if k == 0:
                    login, name, mrole = f"coord-{grp.index + 1:04d}", f"{alias} (điều phối)", \
                        "coordinator"
                elif k <= n_pe:
                    login, name, mrole = f"peer-{grp.index + 1:04d}-{k:02d}", alias, \
                        "peer_educator"
                else:
                    continue
                uid = user(login, name)
                msid += 1
                memberships.add(f"{msid}\t{grp.id}\t{uid}\t{mrole}\t{mid}\tt\t{created}\n")
                if mrole == "peer_educator":
                    grp.peer_educators.append(uid)
        self.counts = {"users": ids["user"], "departments": ids["dep"], "members": mid}

    def providers(self) -> None:
        stream = self.streams["providers"]
        pid = 0
        created = ts(self.days[0] - timedelta(days=30), 9)
        for grp in self.groups:
            for name, services in PROVIDER_TEMPLATES:
                if self.rnd.random() < 0.15:
                    continue  # not every district has every service
                pid += 1
                area = f"số {grp.index + 1}"
                stream.add(f"{pid}\t{grp.id}\t{name.format(a=area)}\t{json.dumps(services)}\t"
                           f"{self.rnd.randint(1, 300)} đường Số {self.rnd.randint(1, 40)}\t"
                           f"T2-T6 7:30-16:30\t024{self.rnd.randrange(10**7):07d}\tt\t"
                           f"{created}\n")
                for s in services:
                    grp.providers.setdefault(s, []).append(pid)

    def trainings(self) -> None:
        rnd = self.rnd
        trainings = self.streams["trainings"]
        attendances = self.streams["attendances"]
        tid = aid = 0
        days = self.days + [TODAY + timedelta(days=i) for i in range(1, 31)]
        # About twice a month per group, each on its own days. Written day by day, all
        # groups interleaved (as the app would have stored them): a month's trainings and
        # roll calls lie together on disk whatever the history before them.
        first = [rnd.randrange(15) for _ in self.groups]
        for day_index, day in enumerate(days):
            for grp in self.groups:
                if day_index < first[grp.index] or (day_index - first[grp.index]) % 15:
                    continue
                tid += 1
                topic, title = TRAINING_TOPICS[rnd.randrange(len(TRAINING_TOPICS))]
                future = day > TODAY
                status = "planned" if future else ("cancelled" if rnd.random() < 0.08 else "held")
                hour = rnd.choice((8, 14))
                start = datetime(day.year, day.month, day.day, hour - 7, 30, tzinfo=UTC)
                trainings.add(f"{tid}\t{grp.id}\t{title}\t{topic}\t{start.isoformat()}\t"
                              f"{rnd.choice((90, 120, 180))}\tVăn phòng nhóm\t"
                              f"{ALIASES[rnd.randrange(len(ALIASES))]} (tập huấn viên)\t"
                              f"{rnd.choice((20, 25, 30))}\t{status}\t"
                              f"{ts(day - timedelta(days=14), 10)}\n")
                if status == "cancelled" or not grp.members:
                    continue
                invited = rnd.sample(grp.members, min(len(grp.members), rnd.randint(8, 20)))
                for member in invited:
                    aid += 1
                    if future:
                        st = "invited"
                    else:
                        r = rnd.random()
                        st = "attended" if r < 0.75 else ("absent" if r < 0.9 else "excused")
                    attendances.add(f"{aid}\t{grp.id}\t{tid}\t{member}\t{st}\t"
                                    f"{start.isoformat()}\n")

    def activity(self) -> None:
        """Clients, contacts, referrals, appointments, reminders: day by day, all groups."""
        rnd = self.rnd
        n_days = len(self.days)
        # Daily activity: grows ~40% through each calendar year (the yearly plan restarts in
        # January), dips at Tết (late Jan to mid Feb) and on Sundays. A function of the date
        # alone, so every year of a longer history has the same shape and a given month the
        # same share of its year's contacts, whatever came before it.
        w = np.empty(n_days)
        for i, d in enumerate(self.days):
            tet = 0.45 if (d.month == 1 and d.day >= 25) or (d.month == 2 and d.day <= 12) else 1
            through = (d.timetuple().tm_yday - 1) / 365
            w[i] = (0.8 + 0.4 * through) * tet * (0.55 if d.weekday() == 6 else 1.0)
        w /= w.sum()
        per_day = np.stack([self.np.multinomial(g.contacts, w) for g in self.groups], axis=1)
        per_day = per_day.tolist()  # [day][group]

        cl, co, rf, ap, rm = (self.streams[t] for t in
                              ("clients", "contacts", "referrals", "appointments", "reminders"))
        from cryptography.fernet import Fernet

        fernet = Fernet(fernet_key())
        values = [fernet.encrypt(f"09{rnd.randrange(10**8):08d}".encode()).decode()
                  for _ in range(256)]
        random_ = rnd.random
        getrandbits = rnd.getrandbits
        log_ = math.log
        n_ch, n_sex, n_age, n_srv, n_top = (len(CHANNELS), len(SEX), len(AGE_BANDS),
                                             len(SERVICES), len(TOPIC_SETS))
        cid = coid = rid = apid = remid = 0
        started = time.monotonic()
        groups = self.groups
        for di, day in enumerate(self.days):
            iso = self.day_iso[di]
            age = n_days - 1 - di  # days before today
            p_new = 0.25 + 0.35 * math.exp(-di / 45)  # many first contacts early on
            row = per_day[di]
            for gi, count in enumerate(row):
                if not count:
                    continue
                grp = groups[gi]
                gid = grp.id
                pes = grp.peer_educators
                n_pes = len(pes)
                clients = grp.clients
                until = grp.until
                for _ in range(count):
                    coid += 1
                    channel = CHANNELS[int(random_() * n_ch)]
                    hour = 8 + int(random_() * 12)
                    created = f"{iso} {hour:02d}:{int(random_() * 60):02d}:00+07"
                    pe = pes[int(random_() * n_pes)]
                    topics = TOPIC_SETS[int(random_() * n_top)]
                    if channel == "group_session":
                        participants = 5 + int(random_() * 20)
                        co.add(f"{coid}\t{gid}\t{iso}\t{channel}\t{N}\t{participants}\t{pe}\t"
                               f"{topics}\t{participants * 3}\t{participants}\t{participants}"
                               f"\t0\t\t{getrandbits(128):032x}\t{N}\t{N}\t{created}\t"
                               f"{created}\n")
                        continue
                    # A returning client is drawn from the group's active clients: each
                    # client stays for a span of days (exponential, mean SPAN_DAYS: many come
                    # once or twice, some for a year or more) and then moves on, so the pool
                    # active in any month is stationary, not the whole history's clients.
                    # Expired ones leave the list when drawn (swapped with the last).
                    client = 0
                    if random_() >= p_new:
                        n = len(clients)
                        while n:
                            j = int(random_() * n)
                            if until[j] >= di:
                                client = clients[j]
                                break
                            n -= 1
                            clients[j] = clients[n]
                            until[j] = until[n]
                            clients.pop()
                            until.pop()
                    if not client:
                        cid += 1
                        client = cid
                        clients.append(cid)
                        until.append(di + int(-log_(1.0 - random_()) * SPAN_DAYS))
                        cl.add(f"{cid}\t{gid}\t{getrandbits(256):064x}\t{iso}\t"
                               f"{SEX[int(random_() * n_sex)]}\t{AGE_BANDS[int(random_() * n_age)]}"
                               f"\t{created}\n")
                    in_person = channel == "in_person"
                    condoms = int(random_() * 21) if in_person else 0
                    lubes = condoms // 2
                    leaflets = 1 if in_person and random_() < 0.5 else 0
                    kits = 1 if random_() < 0.04 else 0
                    deleted = N
                    reason = N
                    if random_() < 0.002:
                        deleted, reason = created, "Nhập trùng"
                    co.add(f"{coid}\t{gid}\t{iso}\t{channel}\t{client}\t{N}\t{pe}\t{topics}\t"
                           f"{condoms}\t{lubes}\t{leaflets}\t{kits}\t"
                           f"{NOTES[int(random_() * 23)]}\t{getrandbits(128):032x}\t{deleted}\t"
                           f"{reason}\t{created}\t{created}\n")
                    if random_() >= (0.22 if in_person else 0.12):
                        continue
                    for _r in range(2 if random_() < 0.1 else 1):
                        rid += 1
                        service = SERVICES[int(random_() * n_srv)]
                        provs = grp.providers.get(service)
                        prov = provs[int(random_() * len(provs))] if provs and random_() < 0.85 \
                            else None
                        r = random_()
                        if age > 30:
                            status = ("completed" if r < 0.6 else "lost" if r < 0.8
                                      else "declined" if r < 0.9 else "referred")
                        else:
                            status = ("referred" if r < 0.5 else "booked" if r < 0.8
                                      else "completed")
                        done = N
                        if status == "completed":
                            done_day = min(age, 1 + int(random_() * 20))
                            done = self.day_iso[di + done_day]
                        rf.add(f"{rid}\t{gid}\t{coid}\t{client}\t{service}\t"
                               f"{N if prov is None else prov}\t{status}\t{iso}\t{done}\t"
                               f"{created}\n")
                        if status not in ("booked", "completed", "lost") or random_() > 0.7:
                            continue
                        # An appointment: 1 to 14 days later, in office hours (local time).
                        apid += 1
                        at = datetime.fromisoformat(f"{iso}T{7 + int(random_() * 9):02d}:00"
                                                    f":00+07:00") + \
                            timedelta(days=1 + int(random_() * 14))
                        future = at > NOW
                        st = ("scheduled" if future else "attended" if status == "completed"
                              else "missed" if status == "lost" else
                              ("attended" if random_() < 0.6 else "missed"))
                        consent = random_() < 0.4
                        chan = ("sms" if random_() < 0.8 else "outbox") if consent else None
                        value = values[int(random_() * 256)] if consent and future else N
                        purge = (at + timedelta(days=7)).isoformat() if consent else N
                        at_iso = at.isoformat()
                        ap.add(f"{apid}\t{gid}\t{rid}\t{N if prov is None else prov}\t{at_iso}"
                               f"\t{st}\t{'t' if consent else 'f'}\t{chan or N}\t{value}\t"
                               f"{purge}\t{created}\t{created if future else at_iso}\n")
                        if not consent:
                            continue
                        for lead in (24, 2):
                            send = at - timedelta(hours=lead)
                            remid += 1
                            if send > NOW:
                                fields = f"pending\t0\t{N}\t{N}"
                                claimed = sent = N
                            else:
                                fields = f"sent\t1\t{N}\tsim-{remid}"
                                claimed = sent = send.isoformat()
                            reminders_line = (f"{remid}\t{gid}\t{apid}\t{N}\t{send.isoformat()}\t"
                                              f"{chan}\t{fields}\tappt:{apid}:{lead}h\t{claimed}"
                                              f"\t{sent}\t{created}\n")
                            rm.add(reminders_line)
            if di % 30 == 29 or di == n_days - 1:
                elapsed = time.monotonic() - started
                log(f"  {day}: {coid:,} contacts, {cid:,} clients, {rid:,} referrals, "
                    f"{apid:,} appointments ({coid / max(elapsed, 1e-9):,.0f} contacts/s)")
        self.counts.update(clients=cid, contacts=coid, referrals=rid, appointments=apid,
                           reminders=remid)

    def run(self) -> dict[str, int]:
        url = self.url
        with ExitStack() as stack:
            for name, cols in COLUMNS.items():
                stream = Stream(url, name, cols, freeze=name in BIG_TABLES)
                self.streams[name] = stream
                stack.callback(lambda s=stream: s.conn.close())
            # Parents before children: each small table commits before its dependants'
            # foreign-key checks could see it, so the small tables close in this order.
            self.org()
            for name in ("departments", "peer_groups", "users", "department_roles", "members",
                         "group_memberships"):
                self.streams[name].close()
            self.providers()
            self.streams["providers"].close()
            self.trainings()
            self.streams["trainings"].close()
            self.streams["attendances"].close()
            self.activity()
            for name in ("clients", "contacts", "referrals", "appointments", "reminders"):
                self.streams[name].close()
        return self.counts


def finish(url: str) -> None:
    """Sequences past the explicit ids; planner statistics."""
    with psycopg.connect(url, autocommit=True) as conn:
        for (tbl,) in conn.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND column_name = 'id' AND column_default LIKE 'nextval%'"
        ).fetchall():
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{tbl}', 'id'), "
                         f"COALESCE((SELECT max(id) FROM {tbl}), 0) + 1, false)")
        conn.execute("ANALYZE")


def table_sizes(conn: psycopg.Connection) -> dict[str, int]:
    return dict(conn.execute(
        "SELECT relname, pg_total_relation_size(oid) FROM pg_class "
        "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'").fetchall())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/harmnet_bench_small"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=365, help="history length (about 12 months)")
    parser.add_argument("--years", type=float, default=None,
                        help="history length in years (sets --days to 365 per year); give "
                             "--contacts for the whole history, e.g. 100000 per year")
    parser.add_argument("--jobs", type=int, default=2, help="parallel index builds")
    parser.add_argument("--app-role", default=APP_ROLE)
    args = parser.parse_args(argv)
    if args.years is not None:
        if args.years <= 0:
            parser.error("--years must be positive")
        args.days = max(1, round(365 * args.years))
    if args.groups < 1 or args.contacts < 0:
        parser.error("--groups must be positive and --contacts non-negative")
    url = libpq_url(args.database_url)
    phases: dict[str, float] = {}
    t0 = last = time.monotonic()

    def phase(name: str) -> None:
        nonlocal last
        now = time.monotonic()
        phases[name] = now - last
        last = now

    log(f"recreating {psycopg.conninfo.conninfo_to_dict(url)['dbname']} and migrating")
    recreate_database(url)
    migrate(url, args.app_role)
    phase("migrate")
    with psycopg.connect(url) as conn:
        migrated = schema_signature(conn)
        plan = strip_big_tables(conn)
    phase("strip")
    log(f"generating {args.groups:,} groups, {args.contacts:,} contacts over {args.days} days")
    counts = Generator(args, url).run()
    phase("generate+copy")
    with psycopg.connect(url) as conn:
        sizes = table_sizes(conn)
    rebuild(url, plan, args.jobs, sizes)
    phase("indexes+fks")
    finish(url)
    phase("analyze")
    with psycopg.connect(url) as conn:
        final = schema_signature(conn)
        db_size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))"
                               ).fetchone()[0]
    if final != migrated:
        for key in migrated:
            missing = set(migrated[key]) - set(final[key])
            extra = set(final[key]) - set(migrated[key])
            if missing or extra:
                log(f"schema differs in {key}: missing {sorted(missing)[:5]} extra "
                    f"{sorted(extra)[:5]}")
        raise SystemExit("the final schema is not the migrated one")
    total = time.monotonic() - t0
    print()
    print("rows:  " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    print("phases: " + ", ".join(f"{k} {v:.1f}s" for k, v in phases.items()))
    print(f"total {total:.1f}s ({total / 60:.1f} min); database size {db_size}; "
          f"schema equals the migrated one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
