"""Test results and linkage to care: the outcome of a referral to testing, the reported
result of a self-test kit, and the follow-up "linked to treatment?" (or PrEP).

Always anonymous data attached to an existing contact or referral: a result names no one, and
its client is the contact's pseudonymous client. Functions take plain values, flush and
never commit; a broken rule raises ResultError with a code the route translates. The
monthly counts (`count_indicators`) are one GROUP BY statement, used by the report job for
the catalogue's test indicators and by the coordinator's cascade.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, distinct, exists, func, literal, or_, select

from ..extensions import db
from ..indicators import SEX_AGE_CELLS, TOTAL, UNKNOWN
from ..models import Client, Contact, Referral, TestResult
from ..models._types import utcnow
from ..models.results import (
    CONFIRMATIONS,
    LINKAGE_DAYS,
    LINKAGE_STATUSES,
    RESULTS,
    TEST_OF_SERVICE,
)
from . import audit

#: A peer educator may change a settled result this many days after recording it (as a
#: contact); after that the coordinator corrects it.
PEER_EDIT_DAYS = 7
#: "Linked to treatment within 30 days" of the confirmed result.
LINKED_WITHIN_DAYS = 30


class ResultError(ValueError):
    """A rule was broken; `code` says which and `field` where (the caller translates it)."""

    def __init__(self, code: str, field: str) -> None:
        super().__init__(code)
        self.code = code
        self.field = field


# --- reading ------------------------------------------------------------------------------


def _live(contact_col):  # type: ignore[no-untyped-def]
    return exists().where(Contact.group_id == TestResult.group_id, Contact.id == contact_col,
                          Contact.deleted_at.is_(None))


def get_result(result_id: int) -> tuple[TestResult, Contact] | None:
    """A result of a live contact of the current group, with that contact."""
    row = db.session.execute(
        select(TestResult, Contact)
        .join(Contact, and_(Contact.group_id == TestResult.group_id,
                            Contact.id == TestResult.contact_id))
        .where(TestResult.id == result_id, Contact.deleted_at.is_(None))
    ).first()
    return (row[0], row[1]) if row else None


def referral_result(referral_id: int) -> TestResult | None:
    return db.session.scalar(select(TestResult).where(TestResult.referral_id == referral_id))


def referral_results(referral_ids: list[int]) -> dict[int, TestResult]:
    if not referral_ids:
        return {}
    return {r.referral_id: r for r in db.session.scalars(
        select(TestResult).where(TestResult.referral_id.in_(referral_ids)))}


def self_test_result(contact_id: int) -> TestResult | None:
    return db.session.scalar(select(TestResult).where(
        TestResult.contact_id == contact_id, TestResult.kind == "self_test"))


def test_of(service: str) -> str | None:
    """The test a referral service is (hiv, hepatitis, sti), or None for other services."""
    return TEST_OF_SERVICE.get(service)


def settled(row: TestResult | None, now: datetime | None = None) -> bool:
    """Whether a result is past the peer educator's edit window and not waiting for anything
    (a reactive HIV screen at a referral waits for its confirmation)."""
    if row is None:
        return False
    if (row.kind == "referral" and row.test == "hiv" and row.result == "reactive"
            and row.confirm_result is None):
        return False
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(
        tzinfo=utcnow().tzinfo)
    return (now or utcnow()) - created > timedelta(days=PEER_EDIT_DAYS)


def can_change_result(row: TestResult | None, role: str, now: datetime | None = None) -> bool:
    """A coordinator always; a peer educator (on their own contact) until it is settled."""
    return role == "coordinator" or not settled(row, now)


def can_change_linkage(row: TestResult, role: str) -> bool:
    """A coordinator always; a peer educator while the follow-up is open."""
    return role == "coordinator" or row.linkage_status == "open"


# --- writing ------------------------------------------------------------------------------


def _check_day(day: date, today: date, earliest: date, field: str, before_code: str) -> None:
    if day > today:
        raise ResultError("future_date", field)
    if day < earliest:
        raise ResultError(before_code, field)


def _set_linkage(row: TestResult, kind: str | None, opened_on: date | None) -> None:
    """Open, move or drop the linkage follow-up to match the result."""
    if kind is None:
        row.linkage = row.linkage_status = row.linkage_opened_on = None
        row.linkage_on = row.linkage_days = None
        return
    if row.linkage != kind:
        row.linkage, row.linkage_status = kind, "open"
        row.linkage_on = row.linkage_days = None
    row.linkage_opened_on = opened_on
    if row.linkage_on is not None and opened_on is not None:
        if row.linkage_on < opened_on:  # the confirmation moved after the recorded start
            row.linkage_status, row.linkage_on, row.linkage_days = "open", None, None
        else:
            row.linkage_days = (row.linkage_on - opened_on).days


def record_referral_outcome(referral: Referral, *, tested: bool, tested_on: date | None,
                            result: str | None, confirm_result: str | None = None,
                            confirmed_on: date | None = None, prep: bool = False,
                            actor_id: int, today: date) -> TestResult:
    """Record (or correct) the outcome of a referral to testing.

    Tested: the date (not in the future, not before the referral) and the result; for a
    reactive HIV screen the confirmatory result and its date when known. A confirmed
    reactive result opens the follow-up "linked to treatment?", a non-reactive HIV result
    with `prep` the follow-up "started PrEP?". Being tested completes the referral.
    """
    test = test_of(referral.service)
    if test is None:
        raise ResultError("wrong_service", "tested")
    if not tested:
        tested_on = result = confirm_result = confirmed_on = None
        prep = False
    else:
        tested_on = tested_on or today
        _check_day(tested_on, today, referral.referred_on, "tested_on", "before_referral")
        if result not in RESULTS:
            raise ResultError("result_needed", "result")
    if confirm_result:
        if confirm_result not in CONFIRMATIONS:
            raise ResultError("result_needed", "confirm_result")
        if test != "hiv":
            raise ResultError("confirm_hiv_only", "confirm_result")
        if result != "reactive":
            raise ResultError("confirm_needs_reactive", "confirm_result")
        confirmed_on = confirmed_on or today
        assert tested_on is not None
        _check_day(confirmed_on, today, tested_on, "confirmed_on", "confirm_before_test")
    else:
        confirmed_on = None
    if prep and not (test == "hiv" and result == "non_reactive"):
        raise ResultError("prep_needs_non_reactive", "prep")

    row = referral_result(referral.id)
    created = row is None
    if row is None:
        row = TestResult(group_id=referral.group_id, contact_id=referral.contact_id,
                         referral_id=referral.id, kind="referral", recorded_by=actor_id)
        db.session.add(row)
    row.client_id = referral.client_id
    row.test = test
    row.tested, row.tested_on, row.result = tested, tested_on, result
    row.confirm_result, row.confirmed_on = confirm_result, confirmed_on
    if test == "hiv" and confirm_result == "reactive":
        _set_linkage(row, "treatment", confirmed_on)
    elif prep:
        _set_linkage(row, "prep", tested_on)
    else:
        _set_linkage(row, None, None)
    if tested and referral.status != "completed":
        referral.status, referral.completed_on = "completed", tested_on
    db.session.flush()
    audit.record("test_result.recorded" if created else "test_result.changed",
                 "test_result", row.id, actor_id=actor_id, group_id=row.group_id,
                 referral_id=referral.id)
    return row


def record_self_test(contact: Contact, *, reported_on: date | None, result: str | None,
                     actor_id: int, today: date) -> TestResult:
    """Record (or correct) the reported result of a self-test kit given at `contact`."""
    if not contact.self_test_kits:
        raise ResultError("no_kit", "result")
    reported_on = reported_on or today
    _check_day(reported_on, today, contact.occurred_on, "reported_on", "before_contact")
    if result not in RESULTS:
        raise ResultError("result_needed", "result")
    row = self_test_result(contact.id)
    created = row is None
    if row is None:
        row = TestResult(group_id=contact.group_id, contact_id=contact.id, kind="self_test",
                         test="hiv", recorded_by=actor_id)
        db.session.add(row)
    row.client_id = contact.client_id
    row.tested, row.tested_on, row.result = True, reported_on, result
    db.session.flush()
    audit.record("test_result.recorded" if created else "test_result.changed",
                 "test_result", row.id, actor_id=actor_id, group_id=row.group_id,
                 contact_id=contact.id)
    return row


def record_linkage(row: TestResult, status: str, started_on: date | None, *, actor_id: int,
                   today: date) -> None:
    """Answer the follow-up: linked (treatment or PrEP started on a date), not linked
    (closed without a start), or open again."""
    if row.linkage is None:
        raise ResultError("no_linkage", "status")
    if status not in LINKAGE_STATUSES:
        raise ResultError("unknown_status", "status")
    if status == "linked":
        if started_on is None:
            raise ResultError("start_needed", "started_on")
        assert row.linkage_opened_on is not None
        _check_day(started_on, today, row.linkage_opened_on, "started_on", "start_before_result")
        row.linkage_on, row.linkage_days = started_on, (started_on - row.linkage_opened_on).days
    else:
        row.linkage_on = row.linkage_days = None
    row.linkage_status = status
    db.session.flush()
    audit.record("test_result.linkage", "test_result", row.id, actor_id=actor_id,
                 group_id=row.group_id, status=status)


# --- follow-ups ---------------------------------------------------------------------------


@dataclass
class OpenLinkage:
    result: TestResult
    days_left: int


def open_linkages(*, peer_educator_id: int | None, today: date, limit: int = 100
                  ) -> list[OpenLinkage]:
    """Linkage follow-ups still open and opened in the last LINKAGE_DAYS days, oldest first
    (`peer_educator_id`: that person's contacts only)."""
    since = today - timedelta(days=LINKAGE_DAYS)
    mine = [Contact.peer_educator_id == peer_educator_id] if peer_educator_id else []
    rows = db.session.scalars(
        select(TestResult)
        .join(Contact, and_(Contact.group_id == TestResult.group_id,
                            Contact.id == TestResult.contact_id))
        # The status is written into the SQL, not sent as a parameter, so that the generic
        # plan of this prepared statement can use the partial index of open linkages.
        .where(TestResult.linkage_status == literal("open", literal_execute=True),
               TestResult.linkage_opened_on > since,
               Contact.deleted_at.is_(None), *mine)
        .order_by(TestResult.linkage_opened_on, TestResult.id).limit(limit)
    )
    return [OpenLinkage(r, LINKAGE_DAYS - (today - r.linkage_opened_on).days) for r in rows]


# --- the catalogue's test indicators (SQL) --------------------------------------------------

#: The indicators this statement fills, in its column order.
CODES = ("hiv_tested", "hiv_reactive_confirmed", "self_test_results", "linked_to_treatment",
         "prep_started")


def _conditions(start: date, end: date) -> tuple:  # type: ignore[type-arg]
    def within(column):  # type: ignore[no-untyped-def]
        return and_(column >= start, column < end)

    linked = TestResult.linkage_status == "linked"
    return (
        and_(TestResult.kind == "referral", TestResult.test == "hiv",
             TestResult.tested.is_(True), within(TestResult.tested_on)),
        and_(TestResult.test == "hiv", TestResult.confirm_result == "reactive",
             within(TestResult.confirmed_on)),
        and_(TestResult.kind == "self_test", within(TestResult.tested_on)),
        and_(TestResult.linkage == "treatment", linked,
             TestResult.linkage_days <= LINKED_WITHIN_DAYS, within(TestResult.linkage_on)),
        and_(TestResult.linkage == "prep", linked, within(TestResult.linkage_on)),
    )


def count_indicators(run, out: dict, ids: list[int], start: date, end: date  # type: ignore[no-untyped-def]
                     ) -> None:
    """Persons tested for HIV, confirmed reactive, reporting a self-test result, linked to
    treatment within 30 days and starting PrEP in [start, end), by sex and age band at
    first contact: one GROUP BY over the period's results of live contacts (each condition
    bounded by its own date index). A result without a client (a small-group session, an
    erased client) counts as one person, in the "not recorded" cell."""
    conditions = _conditions(start, end)
    person = func.coalesce(TestResult.client_id, -TestResult.id)
    for row in run(
        select(TestResult.group_id, Client.sex, Client.age_band,
               *(func.count(distinct(person)).filter(c) for c in conditions))
        .outerjoin(Client, and_(Client.group_id == TestResult.group_id,
                                Client.id == TestResult.client_id))
        .where(TestResult.group_id.in_(ids), or_(*conditions), _live(TestResult.contact_id))
        .group_by(TestResult.group_id, Client.sex, Client.age_band)
    ):
        gid, sex, band = row[0], row[1], row[2]
        cell = f"{sex}:{band}"
        cell = cell if cell in SEX_AGE_CELLS else UNKNOWN
        for code, value in zip(CODES, row[3:], strict=True):
            out[gid][code][cell] += int(value)
            out[gid][code][TOTAL] += int(value)


@dataclass
class Cascade:
    """A period's testing cascade of one group (unsuppressed: the coordinator's view)."""

    tested: int
    reactive: int
    linked: int
    self_tests: int
    prep: int


def cascade(group_id: int, start: date, end: date) -> Cascade:
    """The catalogue's test indicators of one group over [start, end), as the monthly
    report computes them (the current group's context applies)."""
    out = {group_id: {code: {TOTAL: 0, UNKNOWN: 0, **dict.fromkeys(SEX_AGE_CELLS, 0)}
                      for code in CODES}}
    count_indicators(lambda stmt: db.session.execute(stmt).all(), out, [group_id], start, end)
    values = [out[group_id][code][TOTAL] for code in CODES]
    return Cascade(tested=values[0], reactive=values[1], self_tests=values[2], linked=values[3],
                   prep=values[4])
