"""Demo stock: the ledger of every demo contact's commodities, monthly receipts, a count
that found a few condoms missing, expired self-test kits, and one commodity running low
(lubricants at CLB Hoa Sen: about half a month left), so the stock pages, the
coordinator's home and the department's stock table all show something real."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from .. import tenancy
from ..extensions import db
from ..models import Contact, PeerGroup, StockLine
from ..models.stock import CORE_COMMODITIES
from ..services import stock
from ..services.accounts import find_user

#: Each group's suppliers (fictional).
CDC = "Trung tâm Kiểm soát bệnh tật Hà Nội"
SOURCES = {"condoms": CDC, "lubricants": "Dự án hỗ trợ (nhà tài trợ)",
           "leaflets": "Sở LĐ-TB&XH Hà Nội", "self_test_kits": CDC}
LOW = ("hoa-sen", "lubricants")


def seed(password: str) -> None:  # noqa: ARG001 - every seed step has this signature
    for slug, login in (("hoa-sen", "coord-hoasen"), ("song-hong", "coord-songhong")):
        group = db.session.scalar(select(PeerGroup).where(PeerGroup.slug == slug))
        coordinator = find_user(login)
        if group is None or coordinator is None:
            continue
        with tenancy.group_context(group.id):
            if db.session.scalar(select(func.count()).select_from(StockLine)):
                continue  # already seeded: idempotent
            _seed_group(group, coordinator.id)
            db.session.commit()


def _seed_group(group: PeerGroup, actor_id: int) -> None:
    today = datetime.now(ZoneInfo(group.timezone)).date()
    given: dict[str, dict[date, int]] = {c: defaultdict(int) for c in CORE_COMMODITIES}
    for contact in db.session.scalars(select(Contact).where(Contact.deleted_at.is_(None))
                                      .order_by(Contact.occurred_on, Contact.id)):
        stock.sync_contact(contact, new=True)
        for code in CORE_COMMODITIES:
            month = contact.occurred_on.replace(day=1)
            given[code][month] += getattr(contact, code)
    commodities = {c.code: c for c in stock.group_commodities(group)}
    for code, by_month in given.items():
        months = sorted(by_month)
        commodity = commodities[code]
        for i, month in enumerate(months):
            if (group.slug, code) == LOW and i:
                continue  # one big delivery at the start, none since: running low
            quantity = by_month[month] * 12 // 10 + 20
            if (group.slug, code) == LOW:
                use = sum(by_month.values())
                recent = sum(by_month[m] for m in months[-3:]) / 3
                quantity = use + max(1, int(recent * 0.5))
            expires = month + timedelta(days=400) if commodity.tracks_expiry else None
            stock.record_receipt(group.id, commodity, occurred_on=month, quantity=quantity,
                                 source=SOURCES[code], batch=f"{code[:3].upper()}-{month:%y%m}",
                                 expires_on=expires, actor_id=actor_id, today=today)
    first_of_month = today.replace(day=1)
    counted = stock.balance_on(commodities["condoms"].id, first_of_month) - 3
    if counted >= 0:
        stock.record_count(group.id, commodities["condoms"], occurred_on=first_of_month,
                           counted=counted, note="Kiểm kê cuối tháng", actor_id=actor_id,
                           today=today)
    stock.record_adjustment(group.id, commodities["self_test_kits"],
                            occurred_on=first_of_month, reason="expired", quantity=2,
                            note="Lô cũ quá hạn", actor_id=actor_id, today=today)
