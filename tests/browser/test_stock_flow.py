"""A coordinator's stock on a phone: the home page warns that lubricants run low (the demo),
the stock page takes a receipt (after refusing a negative quantity, with what was typed
kept) and a physical count, and the ledger shows both. Phone only, in Vietnamese (the
default): the pages pass every audit of checks.py on the way (axe, labels, keyboard,
layout at 360 px, page weight)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("viewport", ["phone"])
@pytest.mark.parametrize("lang", ["vi"])
def test_coordinator_records_a_receipt_and_a_count_from_the_stock_page(ui):
    demo = ui.resume("coordinator")
    assert ui.path == demo.landing
    alerts = ui.page.locator("main section").filter(has_text=ui.t("Stock to act on"))
    assert ui.t("Lubricants") in alerts.inner_text()

    ui.link("Stock", within="main .tiles")
    ui.follow(ui.page.locator("main table").get_by_role("link", name=ui.t("Lubricants")))
    assert ui.heading() == ui.t("Lubricants")

    # A negative quantity is refused, with the reason and everything typed kept.
    ui.fill({"Quantity received": "-5", "Received from": "CDC Hà Nội",
             "Batch (lot) number": "LUB-99"})
    ui.button("Record receipt", within="main", status=400)
    assert ui.t("A quantity cannot be negative.") in ui.page.locator("main").inner_text()
    assert ui.field("Received from").input_value() == "CDC Hà Nội"
    assert ui.field("Quantity received").input_value() == "-5"

    ui.fill({"Quantity received": "300"})
    ui.button("Record receipt", within="main")
    assert ui.flashes() == [ui.t("Receipt recorded.")]

    ui.page.locator("main summary").filter(has_text=ui.t("Record a physical count")).click()
    on_hand = int(ui.page.locator("main dl.facts dd").first.inner_text().split()[0])
    ui.fill({"Quantity on the shelf": str(on_hand - 2)})
    ui.button("Record count", within="main")
    assert ui.flashes() == [ui.t("Count recorded: the balance was corrected by %(n)s.",
                                 n="-2")]
    ledger = ui.page.locator("main ul.list li").all_inner_texts()
    assert ledger[0].startswith("-2") and ui.t("Count: %(n)s on the shelf", n=on_hand - 2) \
        in ledger[0]
    assert ledger[1].startswith("+300") and "CDC Hà Nội" in ledger[1]
