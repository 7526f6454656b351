"""A hand-built stock history, with every balance and indicator value written by hand.

Condoms (batches expire), May 2024, group on Asia/Ho_Chi_Minh time:
  20 Apr  receipt 100 from the provincial AIDS centre, batch C1, expires 2026-01-01   100
   2 May  session gives 30                                                             70
  10 May  session gives 50, then edited to 60 (a correcting line of -10)                10
  15 May  session gives 25: below zero, the contact is saved all the same              -15
  20 May  receipt 200 from a donor, batch C2, expires 2024-06-15                       185
  25 May  session gives 5, then deleted (its 5 come back)                              185
  31 May  count: 180 on the shelf -> adjustment of -5                                  180
  => received 200, on hand 180, stock-out days 15..19 May = 5.
Lubricants: 5 May receipt 40 (expires 2024-06-30); 6 May gives 10; 28 May 5 damaged -> 25,
  no day out (the card starts on 5 May: the days before it are not stock-out days).
Leaflets: 2 May gives 10 with nothing ever received -> -10 from 2 May: 30 days out.
Self-test kits: no line at all -> no card, zeros.
"""

from __future__ import annotations

from datetime import date

from harmnet.models import PeerGroup
from harmnet.services import contacts, reports, stock
from tests.stock.conftest import balances, core, live_contact, session_contact
from tests.support import in_group


def build(db, group, user) -> dict[str, int]:  # type: ignore[no-untyped-def]
    today = date(2024, 6, 30)
    with in_group(group.id):
        ids = core()
        c = {code: stock.group_commodity(group, cid) for code, cid in ids.items()}
        stock.record_receipt(group.id, c["condoms"], occurred_on=date(2024, 4, 20), quantity=100,
                             source="Trung tâm phòng chống HIV/AIDS", batch="C1",
                             expires_on=date(2026, 1, 1), actor_id=user.id, today=today)
        session_contact(group.id, user.id, date(2024, 5, 2), condoms=30, leaflets=10)
        second = session_contact(group.id, user.id, date(2024, 5, 10), condoms=50)
        contacts.update_contact(live_contact(second), actor_id=user.id, condoms=60)
        session_contact(group.id, user.id, date(2024, 5, 15), condoms=25)
        stock.record_receipt(group.id, c["condoms"], occurred_on=date(2024, 5, 20), quantity=200,
                             source="Nhà tài trợ", batch="C2", expires_on=date(2024, 6, 15),
                             actor_id=user.id, today=today)
        gone = session_contact(group.id, user.id, date(2024, 5, 25), condoms=5)
        contacts.delete_contact(live_contact(gone), "mistake", actor_id=user.id)
        assert stock.record_count(group.id, c["condoms"], occurred_on=date(2024, 5, 31),
                                  counted=180, actor_id=user.id, today=today) == -5
        stock.record_receipt(group.id, c["lubricants"], occurred_on=date(2024, 5, 5),
                             quantity=40, source="CDC", batch="L1",
                             expires_on=date(2024, 6, 30), actor_id=user.id, today=today)
        session_contact(group.id, user.id, date(2024, 5, 6), lubricants=10)
        stock.record_adjustment(group.id, c["lubricants"], occurred_on=date(2024, 5, 28),
                                reason="damaged", quantity=5, actor_id=user.id, today=today)
        db.session.commit()
    return ids


def test_golden_stock_month(db, make_group, make_user):  # type: ignore[no-untyped-def]
    group = make_group("golden-stock")
    user = make_user(group=group, role="coordinator")
    ids = build(db, group, user)
    other = make_group("other-stock")  # another group's ledger never counts
    other_user = make_user(group=other, role="coordinator")
    with in_group(other.id):
        session_contact(other.id, other_user.id, date(2024, 5, 3), condoms=999)
        db.session.commit()

    with in_group(group.id):
        assert balances() == {ids["condoms"]: 180, ids["lubricants"]: 25, ids["leaflets"]: -10}
    values = reports.compute_group(group.id, "2024-05")
    assert values["commodities_received"] == {"condoms": 200, "lubricants": 40, "leaflets": 0,
                                              "self_test_kits": 0}
    assert values["stock_on_hand"] == {"condoms": 180, "lubricants": 25, "leaflets": -10,
                                       "self_test_kits": 0}
    assert values["stock_out_days"] == {"condoms": 5, "lubricants": 0, "leaflets": 30,
                                        "self_test_kits": 0}
    # The distribution indicators and the ledger agree: 30 + 60 + 25 (the deleted 5 gone).
    assert values["condoms"] == {"total": 115}
    assert values["leaflets"] == {"total": 10}
    # April: the first receipt, and no day out; June: nothing moves, balances carry over.
    april = reports.compute_group(group.id, "2024-04")
    assert april["commodities_received"]["condoms"] == 100
    assert april["stock_on_hand"] == {"condoms": 100, "lubricants": 0, "leaflets": 0,
                                      "self_test_kits": 0}
    assert april["stock_out_days"]["condoms"] == 0
    june = reports.compute_group(group.id, "2024-06")
    assert june["stock_out_days"] == {"condoms": 0, "lubricants": 0, "leaflets": 30,
                                      "self_test_kits": 0}
    assert june["stock_on_hand"]["condoms"] == 180


def test_golden_balances_use_and_expiry(db, make_group, make_user):  # type: ignore[no-untyped-def]
    group = make_group("golden-cards")
    user = make_user(group=group, role="coordinator")
    ids = build(db, group, user)
    with in_group(group.id):
        g = db.session.get(PeerGroup, group.id)
        by_code = {s.commodity.code: s for s in stock.summaries(g, date(2024, 6, 1))}
        condoms = by_code["condoms"]
        # Use over the 90 days to 1 June: 115 given out, 38.3 a month; 180 on hand.
        assert (condoms.balance, condoms.expired, condoms.on_hand) == (180, 0, 180)
        assert (condoms.monthly_use, condoms.months_left, condoms.status) == (38.3, 4.7, "ok")
        # 30 June: batch C2 (200, expired 15 June) stops counting. First expiry first out,
        # what is left is C1's 100 (expires 2026): 80 of the 180 are expired.
        by_code = {s.commodity.code: s for s in stock.summaries(g, date(2024, 6, 30))}
        condoms = by_code["condoms"]
        assert (condoms.balance, condoms.expired, condoms.on_hand) == (180, 80, 100)
        assert (condoms.monthly_use, condoms.months_left) == (38.3, 2.6)
        lubes = by_code["lubricants"]
        assert (lubes.on_hand, lubes.monthly_use, lubes.months_left) == (25, 3.3, 7.5)
        leaflets = by_code["leaflets"]
        assert (leaflets.balance, leaflets.status, leaflets.negative) == (-10, "out", True)
        assert not by_code["self_test_kits"].tracked
        # Low stock is under the group's setting (1 month by default, here 3).
        assert [s.commodity.code for s in stock.alerts(g, date(2024, 6, 30))] == ["leaflets"]
        stock.set_low_stock_months(g, 3, actor_id=user.id)
        assert [(s.commodity.code, s.status) for s in stock.alerts(g, date(2024, 6, 30))] == [
            ("condoms", "low"), ("leaflets", "out")]
        assert ids
