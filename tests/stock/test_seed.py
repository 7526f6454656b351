"""The demo's stock: a ledger that agrees with the demo contacts, one commodity running low
on CLB Hoa Sen's home page, and a second run that changes nothing."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from harmnet.models import PeerGroup
from harmnet.services import stock
from tests.stock.conftest import balances, given_by_live_contacts, ledger_sums
from tests.support import in_group


def test_demo_stock_has_a_low_commodity_and_is_idempotent(db):  # type: ignore[no-untyped-def]
    from harmnet.seed import contacts, core
    from harmnet.seed import stock as stock_seed

    core.seed("demo-pass-2024")
    contacts.seed("demo-pass-2024")
    for _ in range(2):
        stock_seed.seed("demo-pass-2024")
        db.session.commit()
    group = core.group("hoa-sen")
    today = datetime.now(ZoneInfo(group.timezone)).date()
    with in_group(group.id):
        alerts = stock.alerts(db.session.get(PeerGroup, group.id), today)
        assert [(a.commodity.code, a.status) for a in alerts] == [("lubricants", "low")]
        sums, cards = ledger_sums(), balances()
        for summary in stock.summaries(db.session.get(PeerGroup, group.id), today):
            code, cid = summary.commodity.code, summary.commodity.id
            assert -sums.get((cid, "distribution"), 0) == given_by_live_contacts(code)
            assert cards[cid] == sum(v for (c, _), v in sums.items() if c == cid)
