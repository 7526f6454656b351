"""The ledger and the contacts always agree (a property over random sequences), the rules
on bad values, and a contact that gives out more than the ledger holds."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harmnet.models import PeerGroup
from harmnet.models.stock import CORE_COMMODITIES
from harmnet.services import contacts, stock
from tests.contacts.conftest import quick_user
from tests.stock.conftest import (
    balances,
    core,
    given_by_live_contacts,
    ledger_sums,
    live_contact,
    session_contact,
)
from tests.support import in_group

TODAY = date(2024, 6, 30)
DAY = st.integers(0, 60).map(lambda n: TODAY - timedelta(days=n))
GIVEN = st.fixed_dictionaries({f: st.integers(0, 40) for f in CORE_COMMODITIES})
COMMODITY = st.sampled_from(CORE_COMMODITIES)
STEP = st.one_of(
    st.tuples(st.just("contact"), DAY, GIVEN),
    st.tuples(st.just("edit"), st.integers(0, 50), DAY, GIVEN),
    st.tuples(st.just("delete"), st.integers(0, 50)),
    st.tuples(st.just("receipt"), COMMODITY, DAY, st.integers(1, 500)),
    st.tuples(st.just("adjust"), COMMODITY, DAY, st.sampled_from(stock.TAKE_AWAY),
              st.integers(1, 50)),
    st.tuples(st.just("count"), COMMODITY, DAY, st.integers(0, 300)),
)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=1, max_size=14))
def test_balance_is_receipts_less_distribution_plus_adjustments(db, make_group, steps
                                                                ):  # type: ignore[no-untyped-def]
    group = make_group()
    user = quick_user(f"p{group.id}", group, "coordinator")
    received = dict.fromkeys(CORE_COMMODITIES, 0)
    with in_group(group.id):
        ids = core()
        commodity = {code: stock.group_commodity(group, cid) for code, cid in ids.items()}
        made: list[int] = []
        for step in steps:
            kind = step[0]
            if kind == "contact":
                made.append(session_contact(group.id, user.id, step[1], **step[2]))
            elif kind in ("edit", "delete") and made:
                contact = live_contact(made[step[1] % len(made)])
                if contact is None or contact.deleted_at is not None:
                    continue
                if kind == "edit":
                    contacts.update_contact(contact, actor_id=user.id, occurred_on=step[2],
                                            **step[3])
                else:
                    contacts.delete_contact(contact, "mistake", actor_id=user.id)
            elif kind == "receipt":
                stock.record_receipt(group.id, commodity[step[1]], occurred_on=step[2],
                                     quantity=step[3], source="CDC", actor_id=user.id,
                                     today=TODAY)
                received[step[1]] += step[3]
            elif kind == "adjust":
                stock.record_adjustment(group.id, commodity[step[1]], occurred_on=step[2],
                                        reason=step[3], quantity=step[4], actor_id=user.id,
                                        today=TODAY)
            elif kind == "count":
                stock.record_count(group.id, commodity[step[1]], occurred_on=step[2],
                                   counted=step[3], actor_id=user.id, today=TODAY)
            db.session.commit()
            cards, sums = balances(), ledger_sums()
            for code, cid in ids.items():
                receipts = sums.get((cid, "receipt"), 0)
                distribution = -sums.get((cid, "distribution"), 0)
                adjustments = sums.get((cid, "adjustment"), 0)
                assert cards.get(cid, 0) == receipts - distribution + adjustments
                assert receipts == received[code]
                assert distribution == given_by_live_contacts(code)
            # Every line of a contact nets out to what the contact gives now, on its date.
            for contact_id in made:
                contact = live_contact(contact_id)
                per_day = stock_by_contact(contact_id)
                want = {} if contact.deleted_at is not None else {
                    (ids[f], contact.occurred_on): -getattr(contact, f)
                    for f in CORE_COMMODITIES if getattr(contact, f)}
                assert {k: v for k, v in per_day.items() if v} == want


def stock_by_contact(contact_id: int) -> dict:
    from sqlalchemy import func, select

    from harmnet.extensions import db
    from harmnet.models import StockLine

    return {(cid, day): int(q) for cid, day, q in db.session.execute(
        select(StockLine.commodity_id, StockLine.occurred_on, func.sum(StockLine.quantity))
        .where(StockLine.contact_id == contact_id)
        .group_by(StockLine.commodity_id, StockLine.occurred_on))}


@pytest.mark.parametrize(("call", "values", "code"), [
    ("receipt", {"quantity": -5}, "quantity_negative"),
    ("receipt", {"quantity": 0}, "quantity_zero"),
    ("receipt", {"quantity": 5_000_000}, "quantity_absurd"),
    ("receipt", {"occurred_on": TODAY + timedelta(days=1)}, "date_future"),
    ("receipt", {"expires_on": TODAY - timedelta(days=3)}, "expiry_before_receipt"),
    ("receipt", {"source": "  "}, "source_needed"),
    ("adjust", {"quantity": -1}, "quantity_negative"),
    ("adjust", {"reason": "counted"}, "unknown_reason"),
    ("count", {"counted": -3}, "quantity_negative"),
    ("count", {"counted": 10**6}, "quantity_absurd"),
])
def test_bad_values_are_refused_with_a_reason(db, make_group, make_user, call, values, code
                                              ):  # type: ignore[no-untyped-def]
    group = make_group()
    user = make_user(group=group, role="coordinator")
    with in_group(group.id):
        condoms = stock.group_commodity(group, core()["condoms"])
        args = {"receipt": dict(occurred_on=TODAY, quantity=10, source="CDC", batch="B",
                                expires_on=None),
                "adjust": dict(occurred_on=TODAY, reason="lost", quantity=1),
                "count": dict(occurred_on=TODAY, counted=4)}[call]
        args.update(values)
        fn = {"receipt": stock.record_receipt, "adjust": stock.record_adjustment,
              "count": stock.record_count}[call]
        with pytest.raises(stock.StockError) as caught:
            fn(group.id, condoms, actor_id=user.id, today=TODAY, **args)
        assert caught.value.code == code
        db.session.rollback()
        assert balances() == {}


def test_a_contact_giving_more_than_the_ledger_holds_is_saved(db, make_group, make_user
                                                              ):  # type: ignore[no-untyped-def]
    group = make_group()
    user = make_user(group=group, role="coordinator")
    with in_group(group.id):
        ids = core()
        stock.record_receipt(group.id, stock.group_commodity(group, ids["self_test_kits"]),
                             occurred_on=TODAY, quantity=2, source="CDC", actor_id=user.id,
                             today=TODAY)
        contact_id = session_contact(group.id, user.id, TODAY, self_test_kits=5)
        db.session.commit()
        assert live_contact(contact_id) is not None
        assert balances()[ids["self_test_kits"]] == -3
        [alert] = stock.alerts(db.session.get(PeerGroup, group.id), TODAY)
        assert (alert.commodity.code, alert.status, alert.negative) == ("self_test_kits",
                                                                        "out", True)
