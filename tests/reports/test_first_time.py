"""'Reached for the first time this year' stays right when contacts arrive late or move to
an earlier day: the report skips the look at earlier months only for a client whose first
contact date is within the month, so the contact service must keep that date honest."""

from __future__ import annotations

from datetime import date

from harmnet.extensions import db as _db
from harmnet.models import Client, Contact
from harmnet.services import contacts, reports
from harmnet.tenancy import group_context


def record(group, user, pseudonym: str, on: date, key: str) -> int:  # type: ignore[no-untyped-def]
    with group_context(group.id):
        contact_id = contacts.create_contact(
            group.id, user.id,
            contacts.ContactInput(occurred_on=on, channel="in_person", pseudonym=pseudonym,
                                  sex="F", age_band="18-24"), key)
        _db.session.commit()
    return contact_id


def first_time(group, period: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    values = reports.compute_group(group.id, period)
    return values["reached"]["total"], values["reached_first_time"]["total"]


def first_contact_on(group, pseudonym: str) -> date:  # type: ignore[no-untyped-def]
    with group_context(group.id):
        return _db.session.scalar(
            _db.select(Client.first_contact_on).where(Client.pseudonym == pseudonym))


def test_a_late_entry_of_an_earlier_meeting(db, make_group, make_user):  # type: ignore[no-untyped-def]
    group = make_group("late")
    user = make_user(group=group, role="peer_educator")
    record(group, user, "p" * 64, date(2024, 5, 10), "k1")
    assert first_time(group, "2024-05") == (1, 1)
    # A meeting in March, entered in May: May is no longer her first time this year.
    record(group, user, "p" * 64, date(2024, 3, 2), "k2")
    assert first_contact_on(group, "p" * 64) == date(2024, 3, 2)
    assert first_time(group, "2024-05") == (1, 0)
    assert first_time(group, "2024-03") == (1, 1)


def test_a_contact_moved_to_an_earlier_day(db, make_group, make_user):  # type: ignore[no-untyped-def]
    group = make_group("moved")
    user = make_user(group=group, role="peer_educator")
    record(group, user, "q" * 64, date(2024, 5, 10), "k1")
    moved = record(group, user, "q" * 64, date(2024, 5, 20), "k2")
    assert first_time(group, "2024-05") == (1, 1)
    with group_context(group.id):
        contact = _db.session.get(Contact, moved)
        contacts.update_contact(contact, actor_id=user.id, occurred_on=date(2024, 2, 1))
        _db.session.commit()
    assert first_contact_on(group, "q" * 64) == date(2024, 2, 1)
    assert first_time(group, "2024-05") == (1, 0)
    assert first_time(group, "2024-02") == (1, 1)
    # A later date never moves the first contact forward.
    with group_context(group.id):
        contact = _db.session.get(Contact, moved)
        contacts.update_contact(contact, actor_id=user.id, occurred_on=date(2024, 6, 1))
        _db.session.commit()
    assert first_contact_on(group, "q" * 64) == date(2024, 2, 1)
    assert first_time(group, "2024-05") == (1, 1)


def test_a_new_client_of_the_month_is_new_this_year(db, make_group, builder
                                                     ):  # type: ignore[no-untyped-def]
    group = make_group("new")
    b = builder(group)
    fresh = b.client(first=date(2024, 5, 3))
    b.contact(date(2024, 5, 3), fresh)
    old = b.client(first=date(2023, 11, 1))
    b.contact(date(2023, 11, 1), old)
    b.contact(date(2024, 5, 4), old)  # seen last year only: first time this year too
    again = b.client(first=date(2024, 1, 9))
    b.contact(date(2024, 1, 9), again)
    b.contact(date(2024, 5, 9), again)
    gone = b.client(first=date(2024, 2, 2))
    b.contact(date(2024, 2, 2), gone, deleted=True)  # deleted: not a contact
    b.contact(date(2024, 5, 9), gone)
    db.session.commit()
    assert first_time(group, "2024-05") == (4, 3)
