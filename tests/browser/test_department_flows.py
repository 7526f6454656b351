"""A department viewer's month: the dashboard by month and by year, a group's version history,
and an Excel export, in Vietnamese and English, on a phone and a laptop."""

from __future__ import annotations

import re

from openpyxl import load_workbook


def test_department_viewer_switches_periods_opens_history_and_downloads_xlsx(ui):
    demo = ui.resume("department_viewer")
    assert ui.path == demo.landing
    periods = ui.page.locator("nav.periods")

    # The year, then a month of it: the chosen period is marked for screen readers too.
    year_link = periods.get_by_role("link", name=re.compile(
        "^" + re.escape(ui.t("Year %(y)s", y=9999)).replace("9999", r"\d{4}") + "$"))
    ui.follow(year_link.first)
    assert re.search(r"[?&]p=\d{4}$", ui.page.url)
    assert periods.locator("[aria-current]").count() == 1
    ui.follow(periods.locator("p").last.get_by_role("link").first)
    month = re.search(r"[?&]p=(\d{4}-\d{2})$", ui.page.url)
    assert month, ui.page.url
    assert periods.locator("[aria-current]").inner_text().strip() == month.group(1)[5:]

    # Which groups reported, and every version the department received of one report.
    ui.nav("Completeness")
    received = ui.page.locator("main a[href*='/history/']")
    assert received.count() > 0, "the demo data has reports received this year"
    ui.follow(received.last)
    assert ui.page.get_by_role("heading", name=ui.t("Versions received")).is_visible()
    assert ui.page.locator("main .list li").first.inner_text().startswith("v")

    # Exports: an Excel file with the department's totals (counts only).
    ui.nav("Exports")
    path = ui.download(ui.page.get_by_role("link", name="Excel (XLSX)"))
    sheet = load_workbook(path, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) > 1
    assert not any("peer-hoasen" in str(cell) for row in rows for cell in row if cell)


def test_by_group_shows_one_chosen_indicator_on_a_phone_and_every_one_on_a_laptop(ui):
    ui.resume("department_viewer")
    ui.link("By group", within="nav.nav")
    # Choose an indicator, then sort by it: the page keeps both, and at 360 px nothing
    # scrolls sideways (every page arrival is also checked for it by the audits).
    ui.fill({"Indicator": "reached"})
    ui.button("Show", within="main")
    assert "i=reached" in ui.page.url
    ui.link("largest first", within="main")
    assert "i=reached" in ui.page.url and "sort=value" in ui.page.url
    one, every = ui.page.locator("table.by-one"), ui.page.locator(".by-all")
    width = ui.page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    assert width[0] <= width[1] + 1, width
    if ui.viewport == "phone":
        assert one.is_visible() and not every.is_visible()
        assert one.locator("caption").inner_text().strip() == ui.page.locator(
            "#i option:checked").inner_text().strip()
        assert one.locator("thead th").count() == 2
    else:
        assert every.is_visible() and not one.is_visible()
    # The marks are explained on the page itself.
    assert ui.page.locator("dl.legend").is_visible()
