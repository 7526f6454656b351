"""A coordinator's week: importing members from a spreadsheet and taking a training's roll
call, in Vietnamese and English, on a phone and a laptop."""

from __future__ import annotations

import secrets


def test_coordinator_imports_members_from_a_csv_file(ui, tmp_path):
    ui.resume("coordinator")
    ui.nav("Members")
    ui.link("Import", within="main")
    assert ui.heading() == ui.t("Import members")
    tag = secrets.token_hex(2)
    aliases = [f"Lan {tag}", f"Cúc {tag}"]
    sheet = tmp_path / "thanh-vien.csv"
    sheet.write_text(
        "Alias,Role in group,Gender,Year of birth\n"
        f"{aliases[0]},peer educator,F,1994\n"
        f"{aliases[1]},cong tac vien,F,1999\n",
        encoding="utf-8",
    )
    ui.upload("File (CSV or Excel .xlsx)", sheet)
    ui.button("Check the file", within="main")
    preview = ui.page.locator("main").inner_text()
    assert ui.t("Ready to import") in preview
    assert ui.nt("%(num)s member can be imported.", "%(num)s members can be imported.", 2) \
        in preview
    ui.button("Import now", within="main")
    assert ui.t("%(n)s members imported.", n=2) in ui.flashes()

    ui.field("Search by alias").fill(tag)
    ui.button("Search", within="main")
    listed = ui.page.locator("main").inner_text()
    assert all(alias in listed for alias in aliases)


def test_coordinator_takes_the_roll_call_of_a_training(ui):
    ui.resume("coordinator")
    ui.nav("Trainings")
    ui.link("Past", within="main")
    held = ui.page.locator("main ul.list a.row").filter(has_text=ui.t("Held"))
    ui.follow(held.first)
    title = ui.heading()
    ui.link("Roll call", within="main")
    assert ui.heading() == ui.t("Roll call")
    first = ui.page.locator("fieldset.mark").first
    who = first.locator("legend").inner_text().strip()
    # Big touch targets: tap the label, not a tiny radio button.
    first.get_by_text(ui.t("Absent"), exact=True).click()
    ui.button("Save roll call", within="main")
    assert ui.heading() == title
    assert ui.t("Roll call saved.") in ui.flashes()

    ui.link("Roll call", within="main")
    marked = ui.page.locator("fieldset.mark").filter(has_text=who).first
    assert marked.get_by_label(ui.t("Absent"), exact=True).is_checked()
