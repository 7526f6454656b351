"""The field day on a phone (#20): every place two taps away from any page with nothing that
scrolls sideways, and the contact form short enough for the work, its taps counted."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, expect

from .test_contact_flows import new_client_names
from .ui import UI, VIEWPORTS

SIDEWAYS = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.mark.parametrize(("lang", "viewport"), [("vi", "phone"), ("en", "phone")])
@pytest.mark.parametrize("role", ["peer_educator", "coordinator", "department_viewer", "admin"])
def test_every_place_is_two_taps_away_and_nothing_scrolls_sideways(ui, role):
    # Plain page loads: every page's full audit (axe, keyboard, weight) belongs to the flows
    # and key_pages.py, where the menu pages are too; here only width, answer and marks.
    ui.audits = False
    demo = ui.resume(role)
    bar = ui.page.locator("nav.nav a")
    assert 2 <= bar.count() <= 4  # at most four places, the last one "More"
    assert bar.last.inner_text().strip() == ui.t("More")
    here = ui.page.locator("nav.nav a[aria-current=page]")
    assert here.count() == 1 and here.get_attribute("href") == demo.landing
    ones = {a.get_attribute("href") for a in bar.all()}
    ui.link("More", within="nav.nav")  # tap 1
    assert ui.page.locator("nav.nav a.more").get_attribute("aria-current") == "page"
    twos = {a.get_attribute("href") for a in ui.page.locator("main nav a").all()}
    assert len(twos) >= 2
    # Each place (tap 2) answers, marks itself on the bar, and fits the width of a phone
    # (360x740) and of a laptop (1280x800), laid out again at each.
    for href in sorted(ones | twos):
        response = ui.page.goto(href)
        assert response is not None and response.status == 200, href
        assert ui.page.locator("nav.nav a[aria-current]").count() == 1, href
        assert ui.page.locator("nav.nav a.more").count() == 1, href
        for size in (VIEWPORTS["desktop"], VIEWPORTS["phone"]):
            ui.page.set_viewport_size(size)
            assert ui.page.evaluate(SIDEWAYS) <= 1, f"{href} scrolls sideways at {size}"


class Taps:
    """What a person does on the form, counted: each click and each field typed or chosen."""

    def __init__(self, ui: UI) -> None:
        self.ui, self.n = ui, 0

    def click(self, target: Locator) -> None:
        self.n += 1
        target.click()

    def type(self, target: Locator, value: str) -> None:
        self.n += 1
        target.fill(value)

    def choose(self, target: Locator, value: str) -> None:
        self.n += 1
        target.select_option(label=value)

    def save(self) -> None:
        self.n += 1
        self.ui.button("Save contact", within="main form.entry")


def label(ui: UI, msgid: str) -> Locator:
    return ui.page.get_by_label(ui.t(msgid), exact=True)


def client_code(ui: UI, taps: Taps, mother: str, father: str, year: str) -> None:
    taps.type(label(ui, "Mother's given name"), mother)
    taps.type(label(ui, "Father's given name"), father)
    taps.click(ui.page.locator("main .sex label").filter(has_text=ui.t("Female")))
    taps.type(label(ui, "Year of birth"), year)


@pytest.mark.parametrize(("lang", "viewport"), [("vi", "phone"), ("en", "phone")])
def test_the_contact_form_fits_the_work(ui, e2e):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    ui.resume("peer_educator")
    ui.nav("New contact")
    page, screen = ui.page, ui.page.viewport_size["height"]
    mother, father, year = new_client_names()

    # A new client, with a referral and an appointment: at most 12 taps.
    taps = Taps(ui)
    client_code(ui, taps, mother, father, year)
    answer = page.locator("#check")
    expect(answer).to_contain_text(ui.t("New client"))  # in place: no reload, no tap
    taps.click(page.locator("main summary").filter(has_text=ui.t("Referral")))
    taps.choose(label(ui, "Service").first, ui.t("HIV testing"))
    taps.click(page.locator("main summary").filter(has_text=ui.t("Book an appointment")).first)
    day = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date() + timedelta(days=2)
    taps.type(label(ui, "Appointment date").first, day.isoformat())
    taps.type(label(ui, "Time").first, "09:30")
    assert page.locator("main .ref").count() == 1  # one row shown; more on demand
    taps.save()
    assert any(f.startswith(ui.t("Contact saved.")) for f in ui.flashes())
    assert taps.n <= 12, f"{taps.n} taps for a new client with a referral and an appointment"
    print(f"new client, referral, appointment ({ui.lang}): {taps.n} taps")

    # The same client again, with condoms: at most 6 taps and 1.5 screens.
    taps = Taps(ui)
    client_code(ui, taps, mother, father, year)
    expect(answer).to_contain_text(ui.t("Returning client"))
    taps.type(label(ui, "Condoms"), "10")
    save = page.locator("main form.entry button.primary")
    bottom = save.evaluate("b => b.getBoundingClientRect().bottom + window.scrollY")
    height = page.evaluate("() => document.documentElement.scrollHeight")
    print(f"returning client ({ui.lang}): save button ends at {bottom:.0f} px, page "
          f"{height} px, screen {screen} px")
    assert bottom <= 1.5 * screen
    # Services selects are full width: none shares its row with another field.
    for select in page.locator("main form.entry select").all():
        if select.is_visible():
            box, form = select.bounding_box(), page.locator("main form.entry").bounding_box()
            assert box["width"] >= form["width"] - 40
    taps.save()
    assert any(f.startswith(ui.t("Contact saved.")) for f in ui.flashes())
    assert taps.n <= 6, f"{taps.n} taps for a returning client with condoms"
    print(f"returning client with condoms ({ui.lang}): {taps.n} taps")

    # Another referral row comes in the page (no reload), blank, its service focused.
    page.locator("main details.referrals > summary").click()
    page.locator("main").get_by_role("button", name=ui.t("Add another referral")).click()
    second = page.locator("#referral-2 select[name='referrals-1-service']")
    expect(second).to_be_focused()
    assert second.input_value() == "" and page.locator("main .ref").count() == 2
    # A refused form: focus on the error summary, which links to the refused field.
    label(ui, "Mother's given name").fill(mother)
    ui.button("Save contact", within="main form.entry", status=400)
    summary = page.locator("main .error-summary")
    expect(summary).to_be_focused()
    sex = page.locator("#sex-0")
    expect(sex).to_have_attribute("aria-invalid", "true")
    expect(sex).to_have_attribute("aria-describedby", "sex-err")
    assert summary.locator("a[href='#sex-0']").count() == 1
