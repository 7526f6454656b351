"""Load-test plumbing: the workload, a gunicorn server, signed-in sessions, wrk runs.

The workload is the list `WORKLOAD` below: one `Page` a line. When an area lands on main,
adding its page to the load test is one line here (the pending ones are written out,
commented, with the path they are expected to have: check it, then uncomment).
"""

from __future__ import annotations

import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.settings import BENCH_ENV, OUT, PASSWORD, ROOT, app_url, libpq_url  # noqa: E402

ROLES = ("peer", "coordinator", "department")
#: Share of the simulated users in each role.
ROLE_SHARE = {"peer": 0.7, "coordinator": 0.2, "department": 0.1}
LUA = ROOT / "bench" / "wrk" / "mixed.lua"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")


@dataclass(frozen=True)
class Page:
    """One request of the workload.

    `path` and form values may use the signed-in user's {slug} (group), {code}
    (department), {training} (the group's latest training id) and {today}. A POST gets the
    session's CSRF token added to `form`; "{rand}" in a form value becomes a fresh random
    value per request (24 hex digits, e.g. an idempotency key).
    """

    role: str
    weight: int
    path: str
    method: str = "GET"
    form: dict[str, str] | None = None
    expect: int = 200
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or f"{self.method} {self.path}"


WORKLOAD: list[Page] = [
    Page("peer", 6, "/g/{slug}/", name="peer home"),
    Page("peer", 1, "/account", name="peer account"),
    Page("coordinator", 3, "/g/{slug}/", name="coordinator home"),
    Page("coordinator", 2, "/g/{slug}/logins", name="logins list"),
    Page("coordinator", 1, "/account", name="coordinator account"),
    Page("department", 3, "/d/{code}/", name="department home"),
    Page("department", 1, "/account", name="department account"),
    Page("peer", 4, "/g/{slug}/contacts/new", name="contact form"),
    Page("peer", 3, "/g/{slug}/contacts/new", "POST", expect=302, name="record contact",
         form={"idempotency_key": "{rand}", "occurred_on": "{today}",
               "channel": "in_person", "mother": "Hương", "father": "Đức", "sex": "F",
               "birth_year": "1996", "topics": "safer_sex", "condoms": "10"}),
    Page("peer", 3, "/g/{slug}/contacts/follow-ups", name="follow-ups"),
    Page("coordinator", 3, "/g/{slug}/members/", name="member list"),
    Page("coordinator", 2, "/g/{slug}/contacts/?channel=zalo", name="contacts filtered"),
    Page("coordinator", 2, "/g/{slug}/trainings/{training}/roll-call", name="roll call"),
    Page("department", 1, "/d/{code}/export.csv", name="department export"),
]



def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- the server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn serving harmnet (wsgi:app, as the Procfile does) against a database."""

    def __init__(self, owner_url: str, workers: int, access_log: Path | None = None,
                 threads: int = 1) -> None:
        self.owner_url = libpq_url(owner_url)
        self.workers = workers
        #: > 1 runs gthread workers: a thinking user's open, idle connection then no longer
        #: holds a whole sync worker (in production a buffering proxy does that job).
        self.threads = threads
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.access_log = access_log
        self.instance = tempfile.mkdtemp(prefix="harmnet-bench-")
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        # Write the instance secrets first: workers booting at once would race to create them.
        (Path(self.instance) / "secrets.json").write_text(json.dumps({
            "SECRET_KEY": BENCH_ENV["SECRET_KEY"],
            "ENCRYPTION_KEYS": BENCH_ENV["HARMNET_ENCRYPTION_KEYS"],
            "PSEUDONYM_KEY": BENCH_ENV["HARMNET_PSEUDONYM_KEY"],
        }))
        env = dict(
            os.environ,
            **BENCH_ENV,
            HARMNET_ENV="development",  # production config, minus the HTTPS-only cookie
            HARMNET_INSTANCE_DIR=self.instance,
            DATABASE_URL=app_url(self.owner_url),
            REDIS_URL=REDIS_URL,
            # Sessions are made once before a run; a soak must not see them time out.
            SESSION_IDLE_MINUTES="600",
            SESSION_ABSOLUTE_HOURS="24",
        )
        cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{self.port}",
               "--workers", str(self.workers), "--threads", str(self.threads),
               "--backlog", "2048", "--log-level", "warning"]
        if self.access_log:
            cmd += ["--access-logfile", str(self.access_log),
                    "--access-logformat", "%(m)s %(U)s %(s)s %(D)s"]
        cmd.append("wsgi:app")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status, _, _ = fetch(self.base, "GET", "/healthz")
                if status == 200:
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited at start")
            time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer /healthz")

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.instance, ignore_errors=True)

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in children.read_text().split()]

    def worker_cpu_seconds(self) -> float:
        """CPU time used so far by the workers (user + system): unlike throughput, it
        does not depend on how much of the machine other work leaves us."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def worker_rss_kb(self) -> dict[int, int]:
        rss = {}
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        rss[pid] = int(line.split()[1])
            except FileNotFoundError:
                continue
        return rss


# --- HTTP for setting up sessions (the load itself is wrk's) --------------------------------

_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                    r'name="csrf_token" value="([^"]+)"|value="([^"]+)" name="csrf_token"')


def fetch(base: str, method: str, path: str, cookie: str = "",
          form: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {"Cookie": cookie} if cookie else {}
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    text = response.read().decode("utf-8", "replace")
    result = {k.lower(): v for k, v in response.getheaders()}
    conn.close()
    return response.status, result, text


def session_cookie(headers: dict[str, str], old: str) -> str:
    raw = headers.get("set-cookie", "")
    match = re.search(r"(harmnet_session=[^;]*)", raw)
    return match.group(1) if match else old


@dataclass
class Session:
    role: str
    login: str
    values: dict[str, str]
    cookie: str = ""
    csrf: str = ""


def form_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    return next(g for g in _TOKEN.search(html).groups() if g)


def sign_in_client(client, login: str, headers: dict[str, str] | None = None) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the login form with an in-process (werkzeug test) client."""
    page = client.get("/login", headers=headers).get_data(as_text=True)
    response = client.post("/login", headers=headers, data={
        "csrf_token": form_token(page), "login": login, "password": PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"cannot sign in as {login}")


def sign_in(base: str, session: Session) -> None:
    """Sign in as a browser would; keep the cookie and a CSRF token of the session."""
    status, headers, text = fetch(base, "GET", "/login")
    cookie = session_cookie(headers, "")
    status, headers, _ = fetch(base, "POST", "/login", cookie,
                               {"csrf_token": form_token(text), "login": session.login,
                                "password": PASSWORD})
    if status != 302 or "/login" in headers.get("location", ""):
        raise RuntimeError(f"sign-in failed for {session.login}: {status}")
    cookie = session_cookie(headers, cookie)
    # A page with a form stores a CSRF token in the session: keep that cookie.
    status, headers, text = fetch(base, "GET", "/account", cookie)
    session.cookie = session_cookie(headers, cookie)
    session.csrf = form_token(text)


def pick_users(owner_url: str, role: str, count: int, seed: int) -> list[Session]:
    """Logins of a role, spread over random groups / departments of the database."""
    queries = {
        "peer": """SELECT u.login, g.slug, g.id,
                     (SELECT max(t.id) FROM trainings t WHERE t.group_id = g.id)
                   FROM group_memberships m JOIN users u ON u.id = m.user_id
                   JOIN peer_groups g ON g.id = m.group_id
                   WHERE m.role = 'peer_educator' ORDER BY random() LIMIT %s""",
        "coordinator": """SELECT u.login, g.slug, g.id,
                     (SELECT max(t.id) FROM trainings t WHERE t.group_id = g.id)
                   FROM group_memberships m JOIN users u ON u.id = m.user_id
                   JOIN peer_groups g ON g.id = m.group_id
                   WHERE m.role = 'coordinator' ORDER BY random() LIMIT %s""",
        "department": """SELECT u.login, d.code, d.id, NULL FROM department_roles r
                   JOIN users u ON u.id = r.user_id JOIN departments d ON d.id = r.department_id
                   ORDER BY d.parent_id IS NULL DESC, random() LIMIT %s""",
    }
    with psycopg.connect(libpq_url(owner_url)) as conn:
        conn.execute("SELECT setseed(%s)", (((seed % 1000) / 1000.0),))
        rows = conn.execute(queries[role], (count,)).fetchall()
    sessions = []
    today = time.strftime("%Y-%m-%d")
    for login, place, place_id, training in rows:
        values = ({"code": place, "today": today} if role == "department"
                  else {"slug": place, "group_id": str(place_id), "training": str(training),
                        "today": today})
        sessions.append(Session(role, login, values))
    if not sessions:
        raise RuntimeError(f"no {role} logins in the database: run bench/generate.py first")
    return sessions


def render(page: Page, session: Session) -> str:
    """The request line wrk replays: METHOD, path, cookie, body."""
    path = page.path.format(**session.values)
    body = ""
    if page.method == "POST":
        form = {"csrf_token": session.csrf, **(page.form or {})}
        body = "&".join(f"{urllib.parse.quote_plus(k)}={urllib.parse.quote_plus(v, safe='{}')}"
                        for k, v in form.items())
        body = body.format(**session.values, rand="{rand}")
    return f"{page.method}\t{path}\t{session.cookie}\t{body}\n"


def check_pages(base: str, sessions: list[Session], pages: list[Page]) -> None:
    """Fail fast when a page of the workload does not answer as expected."""
    for page in pages:
        session = next(s for s in sessions if s.role == page.role)
        line = render(page, session).rstrip("\n").split("\t")
        form = dict(urllib.parse.parse_qsl(line[3].replace("{rand}", os.urandom(12).hex()))) \
            if page.method == "POST" else None
        status, headers, _ = fetch(base, page.method, line[1], session.cookie, form)
        location = headers.get("location", "")
        if status != page.expect or "/login" in location:
            raise RuntimeError(f"{page.label}: {line[1]} answered {status} {location}")


def write_requests(path: Path, sessions: list[Session], pages: list[Page]) -> None:
    with path.open("w") as fh:
        for session in sessions:
            for page in pages:
                if page.role == session.role:
                    fh.write(render(page, session) * page.weight)


def start_wrk(base: str, requests_file: Path, connections: int, seconds: int,
              think_ms: tuple[int, int], seed: int, path: str = "/") -> subprocess.Popen:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
           "-s", str(LUA), base + path, "--", str(requests_file), str(think_ms[0]),
           str(think_ms[1]), str(seed)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_result(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate()
    for line in out.splitlines():
        if line.startswith("JSON "):
            data = json.loads(line[5:])
            data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
            errors = sum(data["errors"].values()) + data["statuses"].get("bounced", 0)
            data["error_count"] = errors
            return data
    raise RuntimeError("wrk printed no figures:\n" + out)


# --- server-side timings from gunicorn's access log ----------------------------------------

_ID = re.compile(r"/\d+(?=/|$)")


def endpoint_of(path: str, values_by_slug: dict[str, str]) -> str:
    parts = path.split("/")
    if len(parts) > 2 and parts[1] in ("g", "d"):
        parts[2] = "<slug>" if parts[1] == "g" else "<code>"
    return _ID.sub("/<id>", "/".join(parts))


@dataclass
class Timings:
    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def read(self, log_path: Path, offset: int = 0) -> int:
        with log_path.open() as fh:
            fh.seek(offset)
            for line in fh:
                try:
                    method, path, status, micros = line.split()
                except ValueError:
                    continue
                self.samples[f"{method} {endpoint_of(path, {})} {status}"].append(
                    int(micros) / 1000)
            return fh.tell()

    def table(self) -> list[tuple[str, int, float, float, float]]:
        rows = []
        for key, values in sorted(self.samples.items()):
            values.sort()
            n = len(values)

            def rank(q: float, values: list[float] = values, n: int = n) -> float:
                return values[min(n - 1, max(0, math.ceil(q * n) - 1))]  # nearest rank

            rows.append((key, n, statistics.median(values), rank(0.95), rank(0.99)))
        return rows


def database_facts(owner_url: str) -> dict[str, int]:
    with psycopg.connect(libpq_url(owner_url)) as conn:
        facts = {}
        for table in ("peer_groups", "users", "clients", "contacts", "referrals"):
            facts[table] = conn.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE relname = %s", (table,)
            ).fetchone()[0]
        facts["bytes"] = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return facts


def split_users(total: int) -> dict[str, int]:
    counts = {role: max(1, round(total * share)) for role, share in ROLE_SHARE.items()}
    counts["peer"] = max(1, total - counts["coordinator"] - counts["department"])
    return counts


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               "?")
    mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB RAM, load {os.getloadavg()[0]:.2f}"


def out_dir() -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT


def rng(seed: int) -> random.Random:
    return random.Random(seed)
