"""What every page a browser test visits must pass: axe-core (no serious or critical
violation), every form field labelled, reachable and visibly focused by keyboard, no console
error (a CSP violation is one), usable at 360 px, and its page weight on first and repeat load."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from playwright.sync_api import BrowserContext, CDPSession, Page

HERE = Path(__file__).resolve().parent
#: axe-core, vendored from the npm package (MPL-2.0, see axe.LICENSE.txt).
AXE_FILE = HERE / "axe.min.js"

FIRST_LOAD_BUDGET = 30 * 1024  #: bytes transferred, compressed, CSS and JS included
REPEAT_LOAD_BUDGET = 10 * 1024  #: bytes transferred with a warm cache
TOUCH_TARGET = 44  #: CSS pixels (DESIGN: 44 px touch targets)
BLOCKING_IMPACTS = ("serious", "critical")


@cache
def axe_source() -> str:
    return AXE_FILE.read_text(encoding="utf-8")


def normalise_path(url: str) -> str:
    """A page's route, not its instance: ids and tokens become placeholders."""
    path = re.sub(r"^https?://[^/]+", "", url).split("#", 1)[0]
    path, _, query = path.partition("?")
    path = re.sub(r"/invite/[^/]+", "/invite/<token>", path)
    path = re.sub(r"/\d+(?=/|$)", "/<id>", path)
    path = re.sub(r"/\d{4}-\d{2}(?=/|$)", "/<month>", path)
    keep = []
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name in ("p", "period", "when"):  # a month, a quarter and a year are other views
            value = re.sub(r"^\d{4}-\d{2}$", "<month>", value)
            value = re.sub(r"^\d{4}-Q\d$", "<quarter>", value)
            value = re.sub(r"^\d{4}$", "<year>", value)
            keep.append(f"{name}={value}")
    return path + ("?" + "&".join(keep) if keep else "")


def run_axe(page: Page) -> list[dict]:
    """axe-core's violations on the page (all rules axe enables by default, WCAG 2.2 included)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol, which the page's CSP does not govern.
        page.evaluate(axe_source())
    return page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)
            }));
        }"""
    )


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING_IMPACTS]


def unlabelled_fields(page: Page) -> list[str]:
    """Form fields a screen reader cannot name: no <label for>, wrapping label or aria name."""
    return page.evaluate(
        """() => [...document.querySelectorAll(
                'input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea')]
            .filter(el => {
                const byFor = el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
                const wrapped = el.closest('label');
                const aria = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
                const text = (byFor || wrapped) ? (byFor || wrapped).textContent.trim() : aria;
                return !text;
            })
            .map(el => el.outerHTML.slice(0, 120))"""
    )


_INTERACTIVE = (
    "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), "
    "select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])"
)


def keyboard_problems(page: Page, *, max_steps: int = 200) -> list[str]:
    """Tab through the whole page: every visible control is reached and shows a focus ring."""
    page.evaluate(
        """(sel) => {
            // Shown now: not in a closed <details> (its content is not rendered until the
            // summary, itself reachable, opens it), not hidden, and not taken out of the
            // tab order on purpose (tabindex="-1", e.g. a form's hidden default button).
            const visible = el => {
                const r = el.getBoundingClientRect(), s = getComputedStyle(el);
                if (el.getAttribute('tabindex') === '-1') return false;
                if (el.checkVisibility && !el.checkVisibility({visibilityProperty: true}))
                    return false;
                return s.visibility !== 'hidden' && s.display !== 'none' &&
                       (r.width > 0 || r.height > 0 || el.classList.contains('skip'));
            };
            // Tab enters a radio group once (at its checked radio); arrows move inside it.
            const radioStop = el => {
                const group = [...document.querySelectorAll(
                    `input[type=radio][name="${CSS.escape(el.name)}"]`)];
                return el === (group.find(r => r.checked) || group[0]);
            };
            [...document.querySelectorAll(sel)].forEach((el, i) => {
                el.dataset.kbd = String(i);
                const stop = el.type !== 'radio' || radioStop(el);
                el.dataset.kbdWanted = visible(el) && stop ? '1' : '0';
            });
            // Where the page put the focus (an error summary, say): given back at the end.
            window.__kbd = {seen: [], unringed: [], start: document.activeElement};
            document.addEventListener('focusin', e => {
                const el = e.target;
                if (!el.dataset || el.dataset.kbd === undefined) return;
                window.__kbd.seen.push(el.dataset.kbd);
                const s = getComputedStyle(el);
                const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) ||
                             (s.boxShadow && s.boxShadow !== 'none');
                if (!ring) window.__kbd.unringed.push(el.outerHTML.slice(0, 100));
            });
            document.activeElement && document.activeElement.blur();
        }""",
        _INTERACTIVE,
    )
    # A date or time input is several Tab stops in Chromium (day, month, year; hour, minute).
    wanted = page.evaluate(
        """() => [...document.querySelectorAll('[data-kbd-wanted="1"]')].reduce(
            (n, el) => n + ({date: 3, time: 3, 'datetime-local': 6, month: 2, week: 2}[
                el.tagName === 'INPUT' ? el.type : ''] || 1), 0)""")
    steps = min(max_steps, wanted + 3)
    for _ in range(steps):
        page.keyboard.press("Tab")
    # Stops the count does not know of (a <summary>, say): go on while some are not reached.
    missing = "() => [...document.querySelectorAll('[data-kbd-wanted=\"1\"]')].some(" \
              "el => !window.__kbd.seen.includes(el.dataset.kbd))"
    while steps < max_steps and page.evaluate(missing):
        for _ in range(5):
            page.keyboard.press("Tab")
        steps += 5
    result = page.evaluate(
        """() => {
            const seen = new Set(window.__kbd.seen);
            const missed = [...document.querySelectorAll('[data-kbd-wanted="1"]')]
                .filter(el => !seen.has(el.dataset.kbd))
                .map(el => 'not reachable by Tab: ' + el.outerHTML.slice(0, 100));
            const unringed = window.__kbd.unringed.map(h => 'no visible focus: ' + h);
            document.querySelectorAll('[data-kbd]').forEach(el => {
                delete el.dataset.kbd; delete el.dataset.kbdWanted; });
            // Leave the page as a person finds it: the next Tab starts at the top again.
            document.body.setAttribute('tabindex', '-1');
            document.body.focus();
            document.body.blur();
            document.body.removeAttribute('tabindex');
            const start = window.__kbd.start;
            if (start && start !== document.body && start.isConnected) start.focus();
            window.scrollTo(0, 0);
            return missed.concat(unringed);
        }"""
    )
    return result


def phone_layout_problems(page: Page) -> list[str]:
    """At a phone width: no sideways scrolling, and touch targets at least 44 px high."""
    return page.evaluate(
        """(min) => {
            const out = [];
            const doc = document.documentElement;
            if (doc.scrollWidth > window.innerWidth + 1)
                out.push(`page scrolls sideways: ${doc.scrollWidth} > ${window.innerWidth}`);
            const sel = 'button, input:not([type=hidden]), select, textarea, a.button, ' +
                        'nav a, header a, a.row, a.tile, .pager a, .foot a';
            for (const el of document.querySelectorAll(sel)) {
                const s = getComputedStyle(el);
                if (s.display === 'none' || s.visibility === 'hidden') continue;
                let r = el.getBoundingClientRect();
                if (r.width === 0 && r.height === 0) continue;
                if (el.type === 'checkbox' || el.type === 'radio') {
                    const label = el.closest('label');
                    if (label) r = label.getBoundingClientRect();
                }
                if (el.classList.contains('skip')) continue;  // shown on focus only
                if (r.height < min - 0.5)
                    out.push(`touch target ${Math.round(r.height)} px high: ` +
                             el.outerHTML.slice(0, 100));
            }
            return out;
        }""",
        TOUCH_TARGET,
    )


class NetworkMeter:
    """Bytes a page transfers, from Chromium's own accounting (DevTools protocol): compressed
    bodies plus headers; a response served from the cache counts 0."""

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.cdp: CDPSession = context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        # What the network carries, not what the service worker answers from its cache
        # (those requests count 0 here): the budget is for a phone without the worker yet.
        self.cdp.send("Network.setBypassServiceWorker", {"bypass": True})
        self.pending: dict[str, str] = {}
        self.done: dict[str, tuple[str, int]] = {}
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.on("Network.loadingFailed", self._failed)

    def _sent(self, e: dict) -> None:
        url = e["request"]["url"]
        if not url.startswith("data:"):
            self.pending[e["requestId"]] = url

    def _finished(self, e: dict) -> None:
        url = self.pending.pop(e["requestId"], None)
        if url is not None:
            self.done[e["requestId"]] = (url, int(e["encodedDataLength"]))

    def _failed(self, e: dict) -> None:
        url = self.pending.pop(e["requestId"], None)
        if url is not None:
            self.done[e["requestId"]] = (url, 0)

    def reset(self) -> None:
        self.pending.clear()
        self.done.clear()

    def settle(self, page: Page, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            page.wait_for_timeout(20)

    def total(self) -> int:
        return sum(n for _, n in self.done.values())

    def by_url(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for url, n in self.done.values():
            out[url] = out.get(url, 0) + n
        return out

    def clear_cache(self) -> None:
        self.cdp.send("Network.clearBrowserCache")


@dataclass
class Weight:
    """One page's weight: first load with an empty cache, then a repeat visit."""

    route: str
    lang: str
    first: int
    repeat: int
    first_parts: dict[str, int] = field(default_factory=dict)
    repeat_parts: dict[str, int] = field(default_factory=dict)

    def problems(self) -> list[str]:
        out = []
        if self.first > FIRST_LOAD_BUDGET:
            out.append(f"first load {self.first} B > {FIRST_LOAD_BUDGET} B: {self.first_parts}")
        if self.repeat > REPEAT_LOAD_BUDGET:
            out.append(f"repeat visit {self.repeat} B > {REPEAT_LOAD_BUDGET} B: "
                       f"{self.repeat_parts}")
        return out


def measure_weight(page: Page, meter: NetworkMeter, url: str, lang: str) -> Weight:
    """Load `url` with an empty cache, then again with the cache it filled."""
    meter.clear_cache()
    meter.reset()
    page.goto(url)
    meter.settle(page)
    first, first_parts = meter.total(), meter.by_url()
    meter.reset()
    page.goto(url)
    meter.settle(page)
    repeat, repeat_parts = meter.total(), meter.by_url()
    meter.reset()
    return Weight(normalise_path(url), lang, first, repeat, first_parts, repeat_parts)
