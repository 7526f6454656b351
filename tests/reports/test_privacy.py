"""Privacy: after seed-demo, the department sees no alias, pseudonym, phone or note anywhere.

Written over whatever rows the member and contact seeds make, plus sentinel rows of our own
(so the test means something before those seeds exist)."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

from openpyxl import load_workbook
from sqlalchemy import select

from harmnet.extensions import db as _db
from harmnet.indicators import CATALOGUE
from harmnet.models import (
    Appointment,
    Client,
    Contact,
    Department,
    Member,
    PeerGroup,
    ReportSnapshot,
)
from harmnet.seed import run_all
from harmnet.services import reports
from harmnet.tenancy import group_context
from tests.support import login

DEMO_PASSWORD = "demo-pass-2024"
SENTINELS = {
    "alias": "Sentinel Thảo Nguyên",
    "phone": "0987 654 321",
    "member_note": "ghi chú riêng tư sentinel-member",
    "contact_note": "khách kể chuyện riêng sentinel-contact",
    "appointment_phone": "+84 912 000 777",
}


def add_sentinels(builder) -> None:  # type: ignore[no-untyped-def]
    group = _db.session.scalar(select(PeerGroup).where(PeerGroup.slug == "hoa-sen"))
    b = builder(group)
    today = date.today()
    last_month = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 10)
    b.member(SENTINELS["alias"], phone=SENTINELS["phone"], notes=SENTINELS["member_note"])
    client = b.client("F", "25-34")
    contact = b.contact(last_month, client, notes=SENTINELS["contact_note"])
    referral = b.referral(contact, "hiv_test", last_month)
    b.appointment(referral, datetime.combine(last_month, datetime.min.time(), UTC),
                  "attended", contact_value=SENTINELS["appointment_phone"])


def secrets_in_database() -> tuple[set[str], set[str]]:
    """(strict strings: pseudonyms, phones, notes; aliases) of every group's rows."""
    strict: set[str] = set()
    aliases: set[str] = set()
    for gid in _db.session.scalars(select(PeerGroup.id)):
        with group_context(gid):
            for m in _db.session.scalars(select(Member)):
                aliases.add(m.alias)
                strict.update(v for v in (m.phone, m.notes) if v)
            strict.update(_db.session.scalars(select(Client.pseudonym)))
            strict.update(n for n in _db.session.scalars(select(Contact.notes)) if n)
            strict.update(v for v in _db.session.scalars(select(Appointment.contact_value)) if v)
    phones = {re.sub(r"\D", "", s) for s in strict if re.fullmatch(r"[+\d ().-]{8,}", s)}
    strict |= {p for p in phones if len(p) >= 8}
    return {s for s in strict if len(s) >= 6}, {a for a in aliases if len(a) >= 2}


def department_urls(client) -> list[str]:  # type: ignore[no-untyped-def]
    today = date.today()
    periods = [reports.previous_month(today), reports.month_of(today), f"{today.year}-Q1",
               f"{today.year}-Q{(today.month - 1) // 3 + 1}", str(today.year),
               str(today.year - 1)]
    urls = [f"/d/hn/?p={p}" for p in periods] + [f"/d/hn/groups?p={p}" for p in periods]
    urls += [f"/d/hn/exports?p={p}" for p in periods]
    urls += [f"/d/hn/export.{fmt}?p={p}" for fmt in ("csv", "xlsx", "json", "xml")
             for p in periods]
    for year in (today.year, today.year - 1):
        urls += [f"/d/hn/trends?year={year}", f"/d/hn/targets?year={year}",
                 f"/d/hn/completeness?year={year}"]
    urls += ["/d/hn/definitions", "/d/hn-bd/", "/d/hn-bd/groups"]
    for snap in _db.session.scalars(select(ReportSnapshot)):
        urls.append(f"/d/hn/history/{snap.group_id}/{snap.period}")
    return sorted(set(urls))


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    if response.mimetype.endswith("spreadsheetml.sheet"):
        book = load_workbook(io.BytesIO(response.data))
        return "\n".join(" ".join("" if v is None else str(v) for v in row)
                         for sheet in book for row in sheet.iter_rows(values_only=True))
    return response.get_data(as_text=True)


def test_department_pages_and_exports_hold_no_personal_value(client, db, builder):  # type: ignore[no-untyped-def]
    run_all(DEMO_PASSWORD)
    db.session.commit()
    add_sentinels(builder)
    db.session.commit()
    run_all(DEMO_PASSWORD)  # the seed is idempotent; this reports the sentinel month too
    db.session.commit()
    strict, aliases = secrets_in_database()
    assert set(SENTINELS.values()) <= strict | aliases
    # Words that the department legitimately sees (names of places, groups, indicators)
    # are not evidence of a leak when an alias happens to be one of them.
    allowed = " ".join(
        [d.name for d in db.session.scalars(select(Department))]
        + [g.name + " " + g.area for g in db.session.scalars(select(PeerGroup))]
        + [i.name_vi + i.name_en + i.definition_vi + i.definition_en for i in CATALOGUE]
    )
    checked_aliases = {a for a in aliases if a not in allowed} | {SENTINELS["alias"]}

    login(client, "dept-hn", DEMO_PASSWORD)
    urls = department_urls(client)
    assert any("/history/" in u for u in urls), "the seed made snapshots"
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        body = text_of(response)
        for secret in strict:
            assert secret not in body, url
        for alias in checked_aliases:
            assert not re.search(rf"(?<!\w){re.escape(alias)}(?!\w)", body), (url, alias)
