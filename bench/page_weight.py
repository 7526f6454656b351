"""Page weight of every key page: bytes transferred (compressed, headers included, as Chromium
counts them) on a first load with an empty cache and on a repeat visit.

    .venv/bin/python bench/page_weight.py [--lang vi --lang en] [--database-url URL]

Budgets (issue 7): first load <= 30 KB with CSS and JS, repeat visit <= 10 KB.
Exit status 1 when a page is over budget.
"""

from __future__ import annotations

import argparse

from _browser import chromium, demo_stack, person

from tests.browser.checks import FIRST_LOAD_BUDGET, REPEAT_LOAD_BUDGET
from tests.browser.key_pages import KEY_PAGES, resolve


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", action="append", choices=["vi", "en"])
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a tmp dir)")
    args = parser.parse_args()
    langs = args.lang or ["vi", "en"]

    over = 0
    print(f"{'page':26} {'lang':4} {'first B':>8} {'repeat B':>8}  {'html B':>7} {'css B':>6}"
          f"  requests")
    with demo_stack(args.database_url) as running, chromium() as browser:
        for lang in langs:
            for key in KEY_PAGES:
                ui = person(browser, running, lang)
                try:
                    if key.who:
                        ui.sign_in(key.who)
                    ui.goto(resolve(key, running), lang="any")
                    weight = ui.weigh()
                finally:
                    ui.close()
                html = sum(n for u, n in weight.first_parts.items() if "/static/" not in u)
                css = sum(n for u, n in weight.first_parts.items() if u.split("?")[0]
                          .endswith(".css"))
                flag = "  OVER BUDGET" if weight.problems() else ""
                over += bool(flag)
                print(f"{key.name:26} {lang:4} {weight.first:8d} {weight.repeat:8d}  {html:7d}"
                      f" {css:6d}  {len(weight.first_parts)}{flag}")
    print(f"budgets: first load <= {FIRST_LOAD_BUDGET} B, repeat visit <= {REPEAT_LOAD_BUDGET} B;"
          f" {over} page(s) over")
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
