"""What one peer-educator home request costs in-process, against the bare "hello" route.

Usage (from the repository root; the database comes from bench/generate.py):

    .venv/bin/python bench/request_cost.py                  # CPU time a request
    .venv/bin/python bench/request_cost.py --callgrind      # instructions a request
    .venv/bin/python bench/request_cost.py --pages contact-form,follow-ups --callgrind

`--pages` picks the peer educator's pages to measure (home and hello by default; also the
blank contact form and follow-ups, the heaviest pages of the load test's peer mix).

The app of `bench/hello_wsgi.py` (harmnet plus the bare Flask "hello" at `/__hello/`) is
called directly as a WSGI app, with Redis on as in production (the identity cache), after
a peer educator signed in through the login form. Each request gets a copy of one
prepared environ (a phone's headers and the session cookie), so the figure is the app's
own work: no gunicorn, no socket. This is the in-process half of the hello ratio of
`bench/load.py`, without that ratio's noise.

`--callgrind` runs the same loop under valgrind and counts the instructions of the
measured requests only (instrumentation is switched on around them): the same code gives
the same count whatever else the machine is doing, so a change of a few percent shows.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from bench.settings import BENCH_ENV, DEFAULT_SMALL_URL, app_url  # noqa: E402

#: A phone's request as wrk sends it (the session protection checks the user agent).
AGENT = {"User-Agent": "wrk"}
HEADERS = {**AGENT, "Accept-Encoding": "gzip, deflate, br", "Host": "127.0.0.1"}


def build(owner_url: str, redis_url: str):  # type: ignore[no-untyped-def]
    """The WSGI app and, per path, a function that serves one request and returns it."""
    os.environ.update(BENCH_ENV, HARMNET_ENV="development",
                      HARMNET_INSTANCE_DIR=tempfile.mkdtemp(prefix="harmnet-cost-"),
                      DATABASE_URL=app_url(owner_url), REDIS_URL=redis_url,
                      SESSION_IDLE_MINUTES="600", SESSION_ABSOLUTE_HOURS="24")
    from werkzeug.test import Client, EnvironBuilder

    from bench.hello_wsgi import app

    peer = harness.pick_users(owner_url, "peer", 1, 1)[0]
    client = Client(app)
    harness.sign_in_client(client, peer.login, AGENT)
    client.get("/account", headers=AGENT)  # a page with a form: the session's CSRF token
    cookie = client.get_cookie("harmnet_session").value

    def request(path: str):  # type: ignore[no-untyped-def]
        prepared = EnvironBuilder(path=path, headers={
            **HEADERS, "Cookie": f"harmnet_session={cookie}"}).get_environ()
        status = []

        def start_response(s: str, headers: list, exc_info: object = None) -> None:
            status.append(s)

        def one() -> str:
            environ = dict(prepared)
            environ["wsgi.input"] = io.BytesIO(b"")
            body = app(environ, start_response)
            b"".join(body)
            getattr(body, "close", lambda: None)()
            return status.pop()

        return one

    slug = peer.values["slug"]
    return {"home": request(f"/g/{slug}/"), "hello": request("/__hello/"),
            "contact-form": request(f"/g/{slug}/contacts/new"),
            "follow-ups": request(f"/g/{slug}/contacts/follow-ups")}


#: The pages this script can measure (a peer educator's, and the bare hello).
PAGES = ("home", "hello", "contact-form", "follow-ups")


def _passed_on(argv: list[str]) -> list[str]:
    """This script's arguments for the run under valgrind, less --callgrind and --pages."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--callgrind" or a.startswith("--pages="):
            continue
        elif a == "--pages":
            skip = True
        else:
            out.append(a)
    return out


def _callgrind(n: int, names: list[str]) -> None:
    """Run this script under valgrind; print instructions a request for each page."""
    for name in names:
        with tempfile.NamedTemporaryFile(suffix=".callgrind") as out:
            subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                            f"--callgrind-out-file={out.name}", sys.executable, __file__,
                            *_passed_on(sys.argv[1:]),
                            "--inside-callgrind", name],
                           check=True, capture_output=True)
            totals = subprocess.run(["callgrind_annotate", out.name], check=True,
                                    capture_output=True, text=True).stdout
            line = next(x for x in totals.splitlines() if "PROGRAM TOTALS" in x)
            instructions = int(line.split()[0].replace(",", ""))
        print(f"{name:12s} {instructions / n / 1e6:6.2f}M instructions a request "
              f"({n} requests)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_SMALL_URL)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--requests", type=int, default=2000, help="a batch (200 under valgrind)")
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--pages", default="home,hello",
                        help=f"comma-separated, of: {', '.join(PAGES)}")
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--inside-callgrind", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    names = [n for n in args.pages.split(",") if n]
    if unknown := set(names) - set(PAGES):
        parser.error(f"unknown pages: {', '.join(sorted(unknown))}")
    if args.callgrind:
        _callgrind(200 if args.requests == 2000 else args.requests, names)
        return 0
    built = build(args.database_url, args.redis_url)
    pages = {n: built[n] for n in ([args.inside_callgrind] if args.inside_callgrind else names)}
    for serve in pages.values():
        for _ in range(300):  # warm: imports, templates, kept fragments, the identity cache
            status = serve()
        if not status.startswith("200"):
            raise RuntimeError(f"a page answered {status}")
    if args.inside_callgrind:
        n = 200 if args.requests == 2000 else args.requests
        serve = pages[args.inside_callgrind]
        subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], check=True,
                       capture_output=True)
        for _ in range(n):
            serve()
        subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], check=True,
                       capture_output=True)
        return 0
    # Alternate batches, as load.py alternates rounds: the machine's drifts hit both.
    cpu = {name: [] for name in pages}
    for _ in range(args.batches):
        for name, serve in pages.items():
            started = time.process_time()
            for _ in range(args.requests):
                serve()
            cpu[name].append((time.process_time() - started) / args.requests * 1000)
    for name, figures in cpu.items():
        print(f"{name:12s} {min(figures):.3f} ms CPU a request (fastest of {args.batches} "
              f"batches of {args.requests}; median {sorted(figures)[len(figures) // 2]:.3f})")
    if "home" in cpu and "hello" in cpu:
        print(f"in-process ratio {min(cpu['hello']) / min(cpu['home']):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
