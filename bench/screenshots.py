"""Screenshots of the key pages on a 360 px phone, into docs/screenshots/ (PNG), with the
README section that lists them (docs/screenshots/README.md).

    .venv/bin/python bench/screenshots.py [--lang vi] [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _browser import ROOT, chromium, demo_stack, person

from tests.browser.key_pages import KEY_PAGES, resolve
from tests.browser.ui import DEMO


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", default="vi", choices=["vi", "en"])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.lang == "vi" else f"-{args.lang}"

    rows = []
    with demo_stack() as running, chromium() as browser:
        for page in KEY_PAGES:
            ui = person(browser, running, args.lang)
            try:
                if page.who:
                    ui.sign_in(page.who)
                ui.goto(resolve(page, running), lang="any")
                if not page.who and ui.html_lang() != args.lang:
                    ui.choose_language(args.lang)
                name = f"{page.name}{suffix}.png"
                ui.page.screenshot(path=str(args.out / name), full_page=True)
            finally:
                ui.close()
            size = (args.out / name).stat().st_size
            who = DEMO[page.who].login if page.who else "not signed in"
            rows.append((page.title, who, name))
            print(f"{name:34} {size:7d} B  {page.title}")

    lines = [
        "## Screenshots (360 px phone)",
        "",
        "Key pages as a peer educator's phone shows them (Vietnamese, demo data), made with "
        "`.venv/bin/python bench/screenshots.py`.",
        "",
        "| page | signed in as | screenshot |",
        "|---|---|---|",
    ]
    lines += [f"| {title} | `{who}` | [{name}]({name}) |" for title, who, name in rows]
    lines += ["", "<p>"]
    lines += [f'<img src="{name}" width="180" alt="{title}">' for title, _, name in rows]
    lines += ["</p>", ""]
    (args.out / "README.md").write_text("\n".join(lines), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
