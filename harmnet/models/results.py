"""Anonymous test results and linkage to care, attached to existing contacts and referrals."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..tenancy import GroupScoped
from ._types import BigId, UTCDateTime, utcnow

#: Referral services whose outcome is a test, and the test each one is.
TEST_OF_SERVICE = {"hiv_test": "hiv", "hepatitis_test": "hepatitis", "sti_care": "sti"}
TESTS = ("hiv", "hepatitis", "sti")
RESULTS = ("non_reactive", "reactive", "indeterminate", "not_disclosed")
#: A confirmatory HIV test reports one of these (a disclosed answer only).
CONFIRMATIONS = ("non_reactive", "reactive", "indeterminate")
#: referral: the outcome of a referral to testing; self_test: a kit's reported result.
KINDS = ("referral", "self_test")
#: treatment: after a confirmed reactive HIV result; prep: a non-reactive client referred
#: to PrEP.
LINKAGES = ("treatment", "prep")
LINKAGE_STATUSES = ("open", "linked", "not_linked")
#: A linkage follow-up stays on the follow-ups page this long unless closed sooner.
LINKAGE_DAYS = 90

OPEN_LINKAGE = "linkage_status = 'open'"


class TestResult(GroupScoped, db.Model):
    """What a client said or showed about one test: no name, no document, no code.

    One row per referral (its outcome) or per contact that gave a self-test kit (the kit's
    reported result). A reactive HIV screen may carry its confirmatory result; a confirmed
    reactive result (or a non-reactive one referred to PrEP) opens a linkage follow-up,
    closed when treatment or PrEP started or when it will not.
    """

    __test__ = False  # not a pytest class, whatever its name
    __tablename__ = "test_results"
    __group_args__ = (
        ForeignKeyConstraint(
            ["group_id", "contact_id"], ["contacts.group_id", "contacts.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["group_id", "referral_id"], ["referrals.group_id", "referrals.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["group_id", "client_id"], ["clients.group_id", "clients.id"], ondelete="RESTRICT"
        ),
        # One outcome per referral; one reported self-test result per contact.
        Index("uq_test_results_group_id_referral_id", "group_id", "referral_id", unique=True),
        Index("uq_test_results_group_id_contact_id_self_test", "group_id", "contact_id",
              unique=True, postgresql_where=text("kind = 'self_test'"),
              sqlite_where=text("kind = 'self_test'")),
        Index("ix_test_results_group_id_contact_id", "group_id", "contact_id"),
        Index("ix_test_results_group_id_client_id", "group_id", "client_id"),
        # The monthly indicators read a period's slice by each of their dates.
        Index("ix_test_results_group_id_tested_on", "group_id", "tested_on"),
        Index("ix_test_results_group_id_confirmed_on", "group_id", "confirmed_on"),
        Index("ix_test_results_group_id_linkage_on", "group_id", "linkage_on"),
        # The follow-ups page's open linkages only.
        Index("ix_test_results_group_id_open_linkage", "group_id", "linkage_opened_on",
              postgresql_where=text(OPEN_LINKAGE), sqlite_where=text(OPEN_LINKAGE)),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The contact of the referral, or the contact that gave the self-test kit.
    contact_id: Mapped[int] = mapped_column(BigId)
    #: Null for a self-test result.
    referral_id: Mapped[int | None] = mapped_column(BigId)
    #: The contact's client (null for a small-group session): persons are counted by it.
    client_id: Mapped[int | None] = mapped_column(BigId)
    #: referral | self_test
    kind: Mapped[str] = mapped_column(String(10))
    #: hiv | hepatitis | sti
    test: Mapped[str] = mapped_column(String(10))
    #: False: the client went (or not) but was not tested; no result then.
    tested: Mapped[bool] = mapped_column(default=True)
    #: Date of the test (of the report, for a self-test).
    tested_on: Mapped[date | None]
    #: One of RESULTS.
    result: Mapped[str | None] = mapped_column(String(14))
    #: For a reactive HIV screen: one of CONFIRMATIONS, null while pending.
    confirm_result: Mapped[str | None] = mapped_column(String(14))
    confirmed_on: Mapped[date | None]
    #: treatment | prep, or null when no linkage is followed up.
    linkage: Mapped[str | None] = mapped_column(String(10))
    #: open | linked | not_linked
    linkage_status: Mapped[str | None] = mapped_column(String(10))
    #: When the linkage follow-up opened (the confirmation, or the PrEP referral's result).
    linkage_opened_on: Mapped[date | None]
    #: When treatment or PrEP started.
    linkage_on: Mapped[date | None]
    #: Days from linkage_opened_on to linkage_on (kept so SQL compares it on any backend).
    linkage_days: Mapped[int | None]
    #: The login that recorded it.
    recorded_by: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
