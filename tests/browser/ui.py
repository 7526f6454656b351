"""A person at a browser: `UI` drives one Chromium context (a phone or a laptop) in one language
and audits every page it reaches (see checks.py), so a flow test reads like what a user does."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from babel.support import Translations
from playwright.sync_api import Browser, Locator, Page, Response

from . import checks
from .stack import DEMO_PASSWORD, ROOT

VIEWPORTS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 800}}
LOCALES = {"vi": "vi-VN", "en": "en-GB"}
OTHER = {"vi": "en", "en": "vi"}
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


@dataclass(frozen=True)
class DemoLogin:
    """A login of the demo data (DESIGN 11) and where it lands after signing in."""

    login: str
    landing: str  #: path of the landing page
    heading: str  #: its h1, as stored (a name, not a translatable string)


#: The demo roles the flows sign in as; each area's flows use these.
DEMO = {
    "coordinator": DemoLogin("coord-hoasen", "/g/hoa-sen/", "CLB Hoa Sen"),
    "peer_educator": DemoLogin("peer-hoasen", "/g/hoa-sen/", "CLB Hoa Sen"),
    "department_viewer": DemoLogin("dept-hn", "/d/hn/", "Sở LĐ-TB&XH Hà Nội"),
    "admin": DemoLogin("admin", "/admin/", ""),
}


@cache
def _translations(lang: str) -> Translations:
    directory = ROOT / "harmnet" / "translations"
    if lang != "en" and not (directory / lang / "LC_MESSAGES" / "messages.mo").exists():
        raise RuntimeError("compile the catalogues first: make translations")
    return Translations.load(str(directory), [lang])


def translate(lang: str, msgid: str, **values: object) -> str:
    """The text the app shows for `msgid` in `lang` (English is the source language)."""
    text = msgid if lang == "en" else _translations(lang).gettext(msgid)
    return text % values if values else text


def ntranslate(lang: str, singular: str, plural: str, num: int, **values: object) -> str:
    """ngettext: the app's text for `num` of something, in `lang`."""
    if lang == "en":
        text = singular if num == 1 else plural
    else:
        text = _translations(lang).ngettext(singular, plural, num)
    return text % {"num": num, **values}


@dataclass
class AuditLog:
    """What the whole session audited: pages (deduplicated by state) and their weights."""

    audited: set = field(default_factory=set)
    keyboard: set = field(default_factory=set)
    weights: dict = field(default_factory=dict)
    routes: set = field(default_factory=set)
    #: (demo role, lang) -> cookies of a signed-in session, for UI.resume()
    sessions: dict = field(default_factory=dict)


class UI:
    """One person's browser (a fresh context: cookies and cache of its own)."""

    def __init__(self, browser: Browser, base_url: str, lang: str, viewport: str,
                 log: AuditLog, *, audits: bool = True) -> None:
        self.browser, self.base_url, self.lang, self.viewport, self.log = (
            browser, base_url, lang, viewport, log)
        self.audits = audits  #: bench/ drives pages without auditing them
        self.context = browser.new_context(
            base_url=base_url, viewport=VIEWPORTS[viewport], locale=LOCALES[lang],
            is_mobile=viewport == "phone", has_touch=viewport == "phone",
        )
        self.context.set_default_timeout(15_000)
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.status = 0
        self.method = "GET"
        self._others: list[UI] = []

    # --- vocabulary ----------------------------------------------------------------------

    def t(self, msgid: str, **values: object) -> str:
        """The app's text for `msgid` in this person's language."""
        return translate(self.lang, msgid, **values)

    def nt(self, singular: str, plural: str, num: int, **values: object) -> str:
        return ntranslate(self.lang, singular, plural, num, **values)

    @property
    def path(self) -> str:
        return re.sub(r"^https?://[^/]+", "", self.page.url).split("#", 1)[0]

    def heading(self) -> str:
        return self.page.locator("h1").first.inner_text().strip()

    def flashes(self) -> list[str]:
        return [t.strip() for t in self.page.locator("main .flash").all_inner_texts()]

    def html_lang(self) -> str:
        return self.page.locator("html").get_attribute("lang") or ""

    def bar_texts(self) -> list[str]:
        """The places on the bar (at most four, the last one "More")."""
        return [t.strip() for t in self.page.locator("nav.nav a").all_inner_texts()]

    def menu_texts(self) -> list[str]:
        """The places of the menu page the bar's "More" opens (read in a side tab)."""
        href = self.page.locator("nav.nav a.more").get_attribute("href")
        side = self.context.new_page()
        try:
            side.goto(href)
            return [t.strip() for t in side.locator("main nav a").all_inner_texts()]
        finally:
            side.close()

    def nav_texts(self) -> list[str]:
        """Every place the navigation reaches: the bar, and the menu behind its "More"."""
        return self.bar_texts() + self.menu_texts()

    def nav(self, msgid: str, **values: object) -> None:
        """Go to a place as a person does: on the bar if it is there (one tap), else
        through "More" and the menu page (two taps)."""
        name = self.t(msgid, **values)
        bar = self.page.locator("nav.nav").get_by_role("link", name=name, exact=True)
        if bar.count():
            self.follow(bar.first)
            return
        self.link("More", within="nav.nav")
        self.link(msgid, within="main nav", **values)

    # --- actions (each ends on a new page, audited) --------------------------------------

    def goto(self, path: str, *, status: int = 200, lang: str | None = None) -> Response | None:
        response = self.page.goto(path)
        self._arrived(response, status, lang)
        return response

    def follow(self, target: Locator, *, status: int = 200, lang: str | None = None) -> None:
        """Click a link or a submit button and wait for the page it leads to."""
        with self.page.expect_navigation() as nav:
            target.click()
        self._arrived(nav.value, status, lang)

    def link(self, msgid: str, *, within: str = "body", status: int = 200, exact: bool = True,
             **values: object) -> None:
        self.follow(self.page.locator(within).get_by_role(
            "link", name=self.t(msgid, **values), exact=exact).first, status=status)

    def button(self, msgid: str, *, within: str = "body", status: int = 200,
               lang: str | None = None, **values: object) -> None:
        self.follow(self.page.locator(within).get_by_role(
            "button", name=self.t(msgid, **values), exact=True).first, status=status, lang=lang)

    def field(self, msgid: str, **values: object) -> Locator:
        """The form field labelled with `msgid` (finding it by label proves it is labelled)."""
        return self.page.get_by_label(self.t(msgid, **values), exact=True)

    def fill(self, fields: dict[str, str]) -> None:
        for msgid, value in fields.items():
            target = self.field(msgid)
            if target.evaluate("el => el.tagName") == "SELECT":
                target.select_option(value)
            else:
                target.fill(value)

    def download(self, target: Locator) -> Path:
        """Click something that downloads a file (an export) and return the saved file."""
        with self.page.expect_download() as info:
            target.click()
        download = info.value
        path = Path(tempfile.mkdtemp(prefix="harmnet-download-")) / download.suggested_filename
        download.save_as(str(path))
        return path

    def upload(self, msgid: str, path: Path) -> None:
        """Choose a file in the file field labelled `msgid` (an import)."""
        self.field(msgid).set_input_files(str(path))

    def choose_language(self, lang: str) -> None:
        """The switch at the foot of every page."""
        self.follow(self.page.locator("footer").get_by_role(
            "button", name=LANGUAGE_NAMES[lang], exact=True), lang=lang)
        self.lang = lang

    def sign_in(self, who: str | DemoLogin, password: str = DEMO_PASSWORD) -> DemoLogin | None:
        """Open the sign-in page, use it in this person's language, and sign in."""
        demo = DEMO.get(who) if isinstance(who, str) else who
        login = demo.login if demo else str(who)
        self.goto("/login", lang="any")  # a new visitor sees the default language
        if self.html_lang() != self.lang:
            self.choose_language(self.lang)
        self.fill({"Login name": login, "Password": password})
        self.button("Sign in", within="main")
        return demo

    def resume(self, who: str) -> DemoLogin:
        """Be signed in as a demo role without typing it again: the first call per role and
        language signs in through the page, later ones reuse that session's cookie (as a
        phone does). For flows where signing in is not the point."""
        demo = DEMO[who]
        cookies = self.log.sessions.get((who, self.lang))
        if cookies:
            self.context.add_cookies(cookies)
            self.goto(demo.landing, lang="any")
            if not self.path.startswith("/login") and self.html_lang() == self.lang:
                return demo
            self.context.clear_cookies()  # that session has ended (signed out everywhere)
        self.sign_in(who)
        self.log.sessions[(who, self.lang)] = self.context.cookies()
        return demo

    def sign_out(self) -> None:
        self.button("Sign out", within="footer")

    def another_person(self, lang: str | None = None, viewport: str | None = None) -> UI:
        """Someone else on another device (a fresh context: no cookies, no cache)."""
        other = UI(self.browser, self.base_url, lang or self.lang, viewport or self.viewport,
                   self.log, audits=self.audits)
        self._others.append(other)
        return other

    def close(self) -> None:
        for other in self._others:
            other.close()
        self.context.close()

    # --- audits --------------------------------------------------------------------------

    def _console(self, message) -> None:  # type: ignore[no-untyped-def]
        if message.type != "error":
            return
        self.errors.append(f"console: {message.text}")

    def _arrived(self, response: Response | None, status: int, lang: str | None) -> None:
        assert response is not None, f"no response for {self.page.url}"
        self.status = response.status
        self.method = response.request.method
        assert response.status == status, (
            f"{self.method} {self.path} answered {response.status}, expected {status}")
        if status >= 400:  # the error page we asked for is not a console error
            expected = f"console: Failed to load resource: the server responded with a status " \
                       f"of {status}"
            self.errors = [e for e in self.errors if not e.startswith(expected)]
        if lang != "any":
            expected = lang or self.lang
            assert self.html_lang() == expected, (
                f"{self.path} is in {self.html_lang()!r}, expected {expected!r}")
        if self.audits:
            self.audit()

    def audit(self) -> None:
        """Every check of checks.py on the page now shown (each state audited once)."""
        page, route = self.page, checks.normalise_path(self.page.url)
        lang = self.html_lang() or self.lang  # what the page is in (a visitor's may differ)
        self.log.routes.add(route)
        errors, self.errors = self.errors, []
        assert not errors, f"{route}: " + "; ".join(errors)
        state = page.evaluate(
            "() => document.querySelectorAll('.error, .flash, .has-error').length")
        key = (route, lang, self.viewport, self.status, state)
        if key not in self.log.audited:
            self.log.audited.add(key)
            serious = checks.blocking(checks.run_axe(page))
            assert not serious, f"axe on {route} ({lang}, {self.viewport}): " + "\n".join(
                f"[{v['impact']}] {v['id']}: {v['help']}: {v['nodes'][:3]}" for v in serious)
            unlabelled = checks.unlabelled_fields(page)
            assert not unlabelled, f"unlabelled fields on {route}: {unlabelled}"
            if self.viewport == "phone":
                layout = checks.phone_layout_problems(page)
                assert not layout, f"{route} at 360 px: " + "\n".join(layout)
        kbd_key = (route, self.viewport, self.status, state)
        if kbd_key not in self.log.keyboard:
            self.log.keyboard.add(kbd_key)
            problems = checks.keyboard_problems(page)
            assert not problems, f"keyboard on {route} ({self.viewport}): " + "\n".join(problems)
        if self.method == "GET" and self.status == 200 and (route, lang) not in self.log.weights:
            self.log.weights[(route, lang)] = weight = self.weigh()
            problems = weight.problems()
            assert not problems, f"page weight of {route} ({lang}): " + "; ".join(problems)

    def weigh(self) -> checks.Weight:
        """First and repeat load of the current page, in a side tab of the same session."""
        side = self.context.new_page()
        try:
            meter = checks.NetworkMeter(self.context, side)
            # Same cookies: the very page this person sees, fetched again.
            return checks.measure_weight(side, meter, self.page.url, self.html_lang())
        finally:
            side.close()


def save_screenshot(ui: UI, name: str, directory: Path) -> Path:
    """A full-page PNG of what the person sees now (docs/screenshots)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    ui.page.screenshot(path=str(path), full_page=True)
    return path
