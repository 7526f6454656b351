"""A peer educator on a phone (360 px, Vietnamese) records a test result and then the linkage
to treatment, both from the follow-ups page (issue 21). Every page passes axe, the 360 px
layout, keyboard and page-weight checks on the way (ui.audit)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from .stack import Stack

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def open_hiv_referral(e2e: Stack, days_ago: int = 20) -> int:
    """A contact of peer-hoasen's, `days_ago` days back, with a referral to HIV testing still
    open (made through the service, as the entry page does); returns the referral's id."""
    from harmnet import clientcode, tenancy
    from harmnet.extensions import db
    from harmnet.models import PeerGroup, Referral, User
    from harmnet.services import contacts

    with e2e.app_context():
        group_id = db.session.scalar(db.select(PeerGroup.id).where(PeerGroup.slug == "hoa-sen"))
        peer = db.session.scalar(db.select(User.id).where(User.login == "peer-hoasen"))
        code = clientcode.normalise("Xu" + secrets.token_hex(2), "Qu", "F", "1995")
        with tenancy.group_context(group_id):
            contact_id = contacts.create_contact(group_id, peer, contacts.ContactInput(
                occurred_on=datetime.now(TZ).date() - timedelta(days=days_ago),
                channel="in_person", pseudonym=clientcode.pseudonym(group_id, code),
                sex="F", age_band="25-34",
                referrals=[contacts.ReferralInput("hiv_test")]), secrets.token_urlsafe(16))
            referral_id = db.session.scalar(
                db.select(Referral.id).where(Referral.contact_id == contact_id))
            db.session.commit()
    return referral_id


@pytest.mark.parametrize(("lang", "viewport"), [("vi", "phone")])
def test_peer_records_a_result_and_a_linkage_from_follow_ups(ui, e2e):
    referral_id = open_hiv_referral(e2e)
    today = datetime.now(TZ).date()
    ui.resume("peer_educator")
    ui.nav("Follow-ups")
    ui.follow(ui.page.locator(f"main a[href$='/contacts/referrals/{referral_id}']"))
    ui.link("Record the test result", within="main")
    assert ui.heading() == ui.t("Test result: %(service)s", service=ui.t("HIV testing"))

    # A confirmation dated before the test: refused, what was typed kept.
    ui.fill({"Was the client tested?": "yes", "Test date": (today - timedelta(days=3)).isoformat(),
             "Result": "reactive",
             "Confirmatory result (after a reactive HIV test)": "reactive",
             "Confirmation date": (today - timedelta(days=5)).isoformat()})
    ui.button("Save result", within="main", status=400)
    assert ui.t("The confirmation date is before the test date.") in ui.page.inner_text("main")
    assert ui.field("Result").input_value() == "reactive"
    ui.field("Confirmation date").fill((today - timedelta(days=1)).isoformat())
    ui.button("Save result", within="main")
    assert ui.t("Test result saved.") in ui.flashes()
    result_id = e2e.sql("SELECT id FROM test_results WHERE referral_id = :r", r=referral_id)[0][0]

    ui.nav("Follow-ups")
    ui.follow(ui.page.locator(f"main a[href$='/contacts/results/{result_id}/linkage']"))
    assert ui.heading() == ui.t("Linked to treatment?")
    ui.fill({"Did treatment or PrEP start?": "linked", "Date started": today.isoformat()})
    ui.button("Save", within="main")
    assert ui.t("Follow-up saved.") in ui.flashes()
    assert ui.page.locator(f"main a[href$='/contacts/results/{result_id}/linkage']").count() == 0
    assert e2e.sql("SELECT linkage_status, linkage_days FROM test_results WHERE id = :i",
                   i=result_id)[0] == ("linked", 1)
