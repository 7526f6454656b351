"""Fixtures of the reports area: build members, trainings, clients, contacts, referrals and
appointments directly through the models (the areas that own them are built in parallel)."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime

import pytest

import worker.tasks.reports  # noqa: F401 - registers the tasks a route enqueues by name (eager)
from harmnet.extensions import db as _db
from harmnet.models import (
    Appointment,
    Attendance,
    Client,
    Contact,
    Member,
    Referral,
    TestResult,
    Training,
)
from harmnet.tenancy import group_context, reports_context

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _as_the_report_jobs(app):  # type: ignore[no-untyped-def]
    """The test body drives the report services as the worker and the seed do, in the report
    jobs' context (row-level security on the department-level tables, PostgreSQL). Requests
    run in their own context, as in production: a department page sees its subtree only."""
    with reports_context():
        yield


def _in_group(method):  # type: ignore[no-untyped-def]
    """Run a builder method inside its group's context (RLS hides rows outside it)."""

    def wrapped(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        with group_context(self.group_id):
            return method(self, *args, **kwargs)

    return wrapped


class Builder:
    """Adds rows of one group; every method flushes and returns the row."""

    def __init__(self, group, user_id: int) -> None:  # type: ignore[no-untyped-def]
        self.group = group
        self.group_id = group.id
        self.user_id = user_id

    def _add(self, row):  # type: ignore[no-untyped-def]
        row.group_id = self.group_id
        _db.session.add(row)
        _db.session.flush()
        return row

    @_in_group
    def client(self, sex: str | None = "F", band: str | None = "18-24",
               first: date = date(2024, 1, 1)) -> Client:
        return self._add(Client(pseudonym=uuid.uuid4().hex + uuid.uuid4().hex,
                                first_contact_on=first, sex=sex, age_band=band))

    @_in_group
    def contact(self, on: date, client: Client | None = None, channel: str = "in_person",
                deleted: bool = False, notes: str = "", **kw: object) -> Contact:
        if client is not None and on < client.first_contact_on:
            client.first_contact_on = on  # as the contact service keeps it
        return self._add(Contact(
            occurred_on=on, channel=channel, client_id=client.id if client else None,
            peer_educator_id=self.user_id, idempotency_key=f"k{next(_seq)}", notes=notes,
            deleted_at=datetime(2024, 6, 1) if deleted else None, **kw))

    @_in_group
    def referral(self, contact: Contact, service: str, on: date, status: str = "referred",
                 completed_on: date | None = None) -> Referral:
        return self._add(Referral(contact_id=contact.id, client_id=contact.client_id,
                                  service=service, referred_on=on, status=status,
                                  completed_on=completed_on))

    @_in_group
    def appointment(self, referral: Referral, at: datetime, status: str = "scheduled",
                    contact_value: str | None = None) -> Appointment:
        return self._add(Appointment(referral_id=referral.id, scheduled_at=at, status=status,
                                     contact_value=contact_value))

    @_in_group
    def test_result(self, contact: Contact, referral: Referral | None = None, **kw: object
                    ) -> TestResult:
        """A test result row as the results service writes it (kind from `referral`)."""
        kw.setdefault("kind", "referral" if referral is not None else "self_test")
        kw.setdefault("test", "hiv")
        if kw.get("linkage_on") and kw.get("linkage_opened_on"):
            kw["linkage_days"] = (kw["linkage_on"] - kw["linkage_opened_on"]).days  # type: ignore[operator]
        return self._add(TestResult(contact_id=contact.id, client_id=contact.client_id,
                                    referral_id=referral.id if referral else None,
                                    recorded_by=self.user_id, **kw))

    @_in_group
    def member(self, alias: str = "Hoa", role: str = "peer_educator", status: str = "active",
               joined: date | None = date(2023, 1, 1), paused: date | None = None,
               left: date | None = None, phone: str | None = None, notes: str = "") -> Member:
        return self._add(Member(alias=alias, role_in_group=role, status=status, joined_on=joined,
                                paused_on=paused, left_on=left, phone=phone, notes=notes))

    @_in_group
    def training(self, at: datetime, minutes: int = 120, status: str = "held") -> Training:
        return self._add(Training(title="Tập huấn", topic="harm_reduction", starts_at=at,
                                  duration_minutes=minutes, status=status))

    @_in_group
    def attend(self, training: Training, member: Member, status: str = "attended") -> Attendance:
        return self._add(Attendance(training_id=training.id, member_id=member.id, status=status))


@pytest.fixture
def builder(db, make_user):  # type: ignore[no-untyped-def]
    def make(group) -> Builder:  # type: ignore[no-untyped-def]
        user = make_user(group=group, role="peer_educator")
        return Builder(group, user.id)

    return make
