"""Lighthouse (npm lighthouse@12.2.3, mobile, simulated slow 4G) on the key pages, driving
Debian's Chromium: performance, accessibility and best-practices scores, each target >= 95.

    .venv/bin/python bench/lighthouse.py [--page login --page ...] [--all] [--lang vi]

Signed-in pages are loaded with the session cookie of the demo login that owns them.
Exit status 1 when a score is under target (2 when Lighthouse itself failed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

from _browser import chromium, demo_stack, person

from tests.browser.key_pages import KEY_PAGES, resolve
from tests.browser.stack import CHROMIUM_ARGS, find_chromium

LIGHTHOUSE = "lighthouse@12.2.3"
CATEGORIES = ("performance", "accessibility", "best-practices")
TARGET = 95


def session_cookie(browser, running, who: str | None, lang: str) -> str | None:  # type: ignore[no-untyped-def]
    """Sign in as `who` in a real browser and return its Cookie header (None: a visitor)."""
    ui = person(browser, running, lang)
    try:
        if who:
            ui.sign_in(who)
        elif lang != "vi":
            ui.goto("/login", lang="any")
            ui.choose_language(lang)
        else:
            return None
        return "; ".join(f"{c['name']}={c['value']}" for c in ui.context.cookies())
    finally:
        ui.close()


def run_lighthouse(url: str, cookie: str | None, out: Path) -> dict:
    cmd = [
        "npx", "--yes", LIGHTHOUSE, url, "--quiet", "--output=json", f"--output-path={out}",
        "--only-categories=" + ",".join(CATEGORIES), "--chrome-flags=" + " ".join(CHROMIUM_ARGS),
    ]
    if cookie:
        cmd.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    env = {**os.environ, "CHROME_PATH": find_chromium() or "/usr/bin/chromium"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"lighthouse failed on {url}:\n{done.stderr[-2000:]}")
    return json.loads(out.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", action="append", help="a key page name (default: the "
                        "pages marked lighthouse=True in tests/browser/key_pages.py)")
    parser.add_argument("--all", action="store_true", help="every key page")
    parser.add_argument("--lang", default="vi", choices=["vi", "en"])
    parser.add_argument("--keep", type=Path, help="keep the JSON reports in this folder")
    args = parser.parse_args()
    pages = [p for p in KEY_PAGES if (args.all or (p.name in args.page if args.page
                                                   else p.lighthouse))]
    if not pages:
        parser.error("no such page")

    below = failed = 0
    print(f"{'page':26} {'perf':>5} {'a11y':>5} {'best':>5}   FCP ms  LCP ms  TBT ms    CLS")
    with demo_stack() as running, chromium() as browser, \
            tempfile.TemporaryDirectory(prefix="harmnet-lh-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for page in pages:
            url = running.base_url + resolve(page, running)
            cookie = session_cookie(browser, running, page.who, args.lang)
            try:
                report = run_lighthouse(url, cookie, folder / f"{page.name}.json")
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                failed += 1
                print(f"{page.name:26} lighthouse failed: {exc}")
                continue
            scores = [round(100 * (report["categories"][c]["score"] or 0)) for c in CATEGORIES]
            audits = report["audits"]
            metrics = [audits[a]["numericValue"] for a in (
                "first-contentful-paint", "largest-contentful-paint", "total-blocking-time",
                "cumulative-layout-shift")]
            low = [c for c, s in zip(CATEGORIES, scores, strict=True) if s < TARGET]
            below += bool(low)
            flag = "  BELOW TARGET: " + ", ".join(low) if low else ""
            if low:
                for c in low:
                    for ref in report["categories"][c]["auditRefs"]:
                        a = audits[ref["id"]]
                        if ref["weight"] and a["score"] is not None and a["score"] < 1:
                            flag += f"\n    {c}: {ref['id']} ({a['score']}): {a['title']}"
            print(f"{page.name:26} {scores[0]:5d} {scores[1]:5d} {scores[2]:5d}  "
                  f"{metrics[0]:7.0f} {metrics[1]:7.0f} {metrics[2]:7.0f} {metrics[3]:6.3f}{flag}")
    print(f"target: each score >= {TARGET} (mobile); {below} page(s) below, {failed} failed")
    return 2 if failed else (1 if below else 0)


if __name__ == "__main__":
    raise SystemExit(main())
