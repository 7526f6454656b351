"""Anonymous service contacts: clients (pseudonyms), contacts, referrals, appointments."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..security import EncryptedString
from ..tenancy import GroupScoped
from ._types import BigId, JSONType, UTCDateTime, utcnow

CHANNELS = ("in_person", "group_session", "zalo", "messenger", "phone", "other")
SEXES = ("F", "M", "T")
AGE_BANDS = ("<18", "18-24", "25-34", "35-49", "50+")
SERVICES = (
    "hiv_test", "pep", "prep", "hiv_treatment", "hepatitis_test", "tb_screening", "sti_care",
    "health_care", "legal_aid", "psych_counselling", "gbv_support", "vocational_training",
    "jobs", "loans", "social_protection",
)
COUNSELLING_TOPICS = (
    "safer_sex", "hiv_sti", "pep_prep", "drug_use", "gbv", "legal_rights", "mental_health",
    "other",
)
REFERRAL_STATUSES = ("referred", "booked", "completed", "declined", "lost")
APPOINTMENT_STATUSES = ("scheduled", "attended", "missed", "cancelled")
REMINDER_CHANNELS = ("sms", "email", "outbox")


class Provider(GroupScoped, db.Model):
    """An entry of the group's referral directory (clinic, legal aid office, ...)."""

    __tablename__ = "providers"
    __group_args__ = (Index("ix_providers_group_id_name", "group_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Service codes from SERVICES.
    services: Mapped[list] = mapped_column(JSONType, default=list)
    address: Mapped[str] = mapped_column(String(300), default="")
    opening_hours: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Client(GroupScoped, db.Model):
    """A client known only by a pseudonym (HMAC of the client code under the group's key)."""

    __tablename__ = "clients"
    __group_args__ = (
        UniqueConstraint("group_id", "pseudonym"),
        # The monthly report joins a month's persons to their sex, age band and first
        # contact in (group_id, id) order: an index-only merge join over this index.
        Index("ix_clients_group_id_id_profile",
              "group_id", "id", "sex", "age_band", "first_contact_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Hex HMAC-SHA256; never the code itself, never shown, never in a URL.
    pseudonym: Mapped[str] = mapped_column(String(64))
    #: On or before the date of every contact of the client (the contact service keeps it).
    first_contact_on: Mapped[date]
    #: F | M | T
    sex: Mapped[str | None] = mapped_column(String(1))
    #: Age band at first contact, one of AGE_BANDS.
    age_band: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Contact(GroupScoped, db.Model):
    """One service contact: a meeting, a chat, or a small-group session."""

    __tablename__ = "contacts"
    __group_args__ = (
        UniqueConstraint("group_id", "idempotency_key"),
        ForeignKeyConstraint(
            ["group_id", "client_id"], ["clients.group_id", "clients.id"], ondelete="RESTRICT"
        ),
        Index("ix_contacts_group_id_occurred_on", "group_id", "occurred_on"),
        Index("ix_contacts_group_id_peer_educator_id_occurred_on",
              "group_id", "peer_educator_id", "occurred_on"),
        Index("ix_contacts_group_id_client_id", "group_id", "client_id"),
        # "Reached for the first time this year" asks, for each person of a month, whether a
        # live contact came earlier in the year: one index-only probe here per person.
        Index("ix_contacts_group_id_client_id_occurred_on_live",
              "group_id", "client_id", "occurred_on",
              postgresql_where=text("deleted_at IS NULL AND client_id IS NOT NULL"),
              sqlite_where=text("deleted_at IS NULL AND client_id IS NOT NULL")),
        # A period's persons, read from the period's slice only, whatever the history
        # (migration 0009).
        Index("ix_contacts_group_id_occurred_on_client_live",
              "group_id", "occurred_on", "client_id",
              postgresql_where=text("deleted_at IS NULL AND client_id IS NOT NULL"),
              sqlite_where=text("deleted_at IS NULL AND client_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    occurred_on: Mapped[date]
    #: One of CHANNELS.
    channel: Mapped[str] = mapped_column(String(20))
    #: Null for a small-group session, which records participants_count instead.
    client_id: Mapped[int | None] = mapped_column(BigId)
    participants_count: Mapped[int | None]
    #: The login that made the contact.
    peer_educator_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    #: Codes from COUNSELLING_TOPICS.
    counselling_topics: Mapped[list] = mapped_column(JSONType, default=list)
    condoms: Mapped[int] = mapped_column(default=0)
    lubricants: Mapped[int] = mapped_column(default=0)
    leaflets: Mapped[int] = mapped_column(default=0)
    self_test_kits: Mapped[int] = mapped_column(default=0)
    #: Free text, at most 500 characters, never copied to reports or logs.
    notes: Mapped[str] = mapped_column(Text, default="")
    #: A token from the form, so a retried submit never creates a second contact.
    idempotency_key: Mapped[str] = mapped_column(String(64))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delete_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Referral(GroupScoped, db.Model):
    """A referral of a client to a service, made at a contact."""

    __tablename__ = "referrals"
    __group_args__ = (
        ForeignKeyConstraint(
            ["group_id", "contact_id"], ["contacts.group_id", "contacts.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["group_id", "client_id"], ["clients.group_id", "clients.id"], ondelete="RESTRICT"
        ),
        ForeignKeyConstraint(
            ["group_id", "provider_id"], ["providers.group_id", "providers.id"],
            ondelete="RESTRICT",
        ),
        Index("ix_referrals_group_id_contact_id", "group_id", "contact_id"),
        Index("ix_referrals_group_id_client_id", "group_id", "client_id"),
        Index("ix_referrals_group_id_status_referred_on", "group_id", "status", "referred_on"),
        Index("ix_referrals_group_id_referred_on", "group_id", "referred_on"),
        # A period's completed referrals, read without the referral history (migration 0009).
        Index("ix_referrals_group_id_completed_on", "group_id", "completed_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(BigId)
    client_id: Mapped[int | None] = mapped_column(BigId)
    #: One of SERVICES.
    service: Mapped[str] = mapped_column(String(30))
    provider_id: Mapped[int | None] = mapped_column(BigId)
    #: referred | booked | completed | declined | lost
    status: Mapped[str] = mapped_column(String(10), default="referred")
    referred_on: Mapped[date]
    completed_on: Mapped[date | None]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Appointment(GroupScoped, db.Model):
    """A booked appointment for a referral, with optional, consented reminders."""

    __tablename__ = "appointments"
    __group_args__ = (
        ForeignKeyConstraint(
            ["group_id", "referral_id"], ["referrals.group_id", "referrals.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["group_id", "provider_id"], ["providers.group_id", "providers.id"],
            ondelete="RESTRICT",
        ),
        Index("ix_appointments_group_id_scheduled_at", "group_id", "scheduled_at"),
        Index("ix_appointments_group_id_referral_id", "group_id", "referral_id"),
        # The follow-ups page's appointments (migration 0007).
        Index("ix_appointments_group_id_open", "group_id", "status", "scheduled_at",
              postgresql_where=text("status = 'scheduled' OR status = 'missed'"),
              sqlite_where=text("status = 'scheduled' OR status = 'missed'")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    referral_id: Mapped[int] = mapped_column(BigId)
    provider_id: Mapped[int | None] = mapped_column(BigId)
    #: UTC.
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: scheduled | attended | missed | cancelled
    status: Mapped[str] = mapped_column(String(10), default="scheduled")
    reminder_consent: Mapped[bool] = mapped_column(default=False)
    #: sms | email | outbox
    channel: Mapped[str | None] = mapped_column(String(10))
    #: Phone or e-mail for reminders, encrypted; erased after purge_after.
    contact_value: Mapped[str | None] = mapped_column(EncryptedString(600))
    #: When contact_value is erased (after the appointment plus retention days).
    purge_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
