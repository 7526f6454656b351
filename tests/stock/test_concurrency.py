"""Two peer educators distributing at the same moment lose no update (PostgreSQL, two real
sessions on two connections: the card's `balance = balance + n` waits on the other's row
lock, then adds to what it committed)."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest

from harmnet import tenancy
from harmnet.extensions import db
from harmnet.services import stock
from tests.conftest import requires_pg
from tests.contacts.conftest import quick_user
from tests.stock.conftest import balances, core, ledger_sums, session_contact
from tests.support import in_group

pytestmark = [requires_pg, pytest.mark.postgres]
DAY = date(2024, 5, 2)


def test_two_peer_educators_distributing_at_once_lose_no_update(app, make_group
                                                                ):  # type: ignore[no-untyped-def]
    group = make_group()
    coordinator = quick_user("race-coord", group, "coordinator")
    peers = [quick_user(f"race-peer-{i}", group, "peer_educator") for i in range(2)]
    db.session.commit()
    with in_group(group.id):
        condoms = core()["condoms"]
        stock.record_receipt(group.id, stock.group_commodity(group, condoms), occurred_on=DAY,
                             quantity=100, source="CDC", actor_id=coordinator.id, today=DAY)
        db.session.commit()
    peer_ids = [p.id for p in peers]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def distribute(user_id: int, each: int) -> None:
        try:
            with app.app_context():  # its own session and connection
                tenancy.set_group(group.id)
                start.wait()
                for _ in range(5):
                    session_contact(group.id, user_id, DAY, condoms=each)
                    time.sleep(0.05)  # hold the card's row lock while the other waits
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=distribute, args=(peer_ids[0], 3)),
               threading.Thread(target=distribute, args=(peer_ids[1], 4))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with in_group(group.id):
        db.session.expire_all()
        # 100 received, 5 x 3 and 5 x 4 given out: every save counted.
        assert balances() == {condoms: 100 - 15 - 20}
        assert ledger_sums()[(condoms, "distribution")] == -35
