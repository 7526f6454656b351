"""Service contacts, clients (pseudonyms), referrals, follow-ups and the referral cascade.

Functions take ids and plain values, flush and never commit. Appointment writes live in
`harmnet.services.appointments` (one module, so reminder sync is added in one place).
A client arrives here only as a pseudonym: the code and its answers never reach this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)

from .. import tenancy
from ..extensions import db
from ..keyset import Cursor, KeysetPage, keyset_page
from ..models import Appointment, Client, Contact, Provider, Referral, User
from ..models._types import utcnow
from ..models.contacts import AGE_BANDS, CHANNELS, REFERRAL_STATUSES, SERVICES
from . import appointments as appointment_service
from . import audit, stock

#: A peer educator may edit their own contact this many days after it was created.
PEER_EDIT_DAYS = 7
OPEN_REFERRAL_STATUSES = ("referred", "booked")
ITEM_FIELDS = ("condoms", "lubricants", "leaflets", "self_test_kits")
#: Reasons offered for a soft deletion; only the code is stored and audited.
DELETE_REASONS = ("duplicate", "mistake", "client_request", "other")


class ContactError(ValueError):
    """A rule was broken; `code` says which (the caller translates it)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class DuplicateSubmission(Exception):
    """The form's idempotency token was already used: the contact exists."""

    def __init__(self, contact_id: int) -> None:
        super().__init__(contact_id)
        self.contact_id = contact_id


@dataclass
class AppointmentInput:
    scheduled_at: datetime  #: UTC
    reminder_consent: bool = False
    channel: str | None = None
    contact_value: str | None = None


@dataclass
class ReferralInput:
    service: str
    provider_id: int | None = None
    appointment: AppointmentInput | None = None


@dataclass
class ContactInput:
    occurred_on: date
    channel: str
    #: HMAC of the client code, or None for a small-group session.
    pseudonym: str | None = None
    sex: str | None = None
    age_band: str | None = None
    participants_count: int | None = None
    counselling_topics: list[str] = field(default_factory=list)
    condoms: int = 0
    lubricants: int = 0
    leaflets: int = 0
    self_test_kits: int = 0
    notes: str = ""
    referrals: list[ReferralInput] = field(default_factory=list)


@dataclass
class ClientSummary:
    """What a peer educator may learn about a returning client: counts and dates only."""

    client_id: int
    times_seen: int
    last_on: date | None
    open_services: list[str]
    sex: str | None
    age_band: str | None


# --- clients ------------------------------------------------------------------------------


def find_client(pseudonym: str) -> Client | None:
    return db.session.scalar(select(Client).where(Client.pseudonym == pseudonym))


def client_summary(pseudonym: str) -> ClientSummary | None:
    """Returning-client check: times seen, last contact date, services of open referrals."""
    client = find_client(pseudonym)
    if client is None:
        return None
    seen, last_on = db.session.execute(
        select(func.count(Contact.id), func.max(Contact.occurred_on)).where(
            Contact.client_id == client.id, Contact.deleted_at.is_(None)
        )
    ).one()
    open_services = list(
        db.session.scalars(
            select(Referral.service)
            .join(Contact, and_(Contact.group_id == Referral.group_id,
                                Contact.id == Referral.contact_id))
            .where(
                Referral.client_id == client.id,
                Referral.status.in_(OPEN_REFERRAL_STATUSES),
                Contact.deleted_at.is_(None),
            )
            .distinct()
            .order_by(Referral.service)
        )
    )
    return ClientSummary(client.id, seen or 0, last_on, open_services, client.sex,
                         client.age_band)


def _note_contact_date(client_id: int, occurred_on: date) -> None:
    """Keep `first_contact_on` at or before every contact of the client (a late entry of
    an earlier meeting, or a date corrected to an earlier day). The monthly report relies on
    it: a client first met on or after a month's first day needs no look at earlier months.
    One conditional UPDATE, so two late entries at once still leave the earlier date."""
    db.session.execute(
        update(Client)
        .where(Client.id == client_id, Client.first_contact_on > occurred_on)
        .values(first_contact_on=occurred_on)
        .execution_options(synchronize_session="fetch")
    )


def _client_id(group_id: int, pseudonym: str, occurred_on: date,
               sex: str | None, age_band: str | None) -> int:
    """The id of the client with this pseudonym, made on first contact."""
    client = find_client(pseudonym)
    if client is not None:
        if occurred_on < client.first_contact_on:  # most contacts come later: no UPDATE
            _note_contact_date(client.id, occurred_on)
        return client.id
    if age_band not in AGE_BANDS:
        raise ContactError("age_band_needed")
    # Two peer educators may record the same new client at once: the unique
    # (group_id, pseudonym) decides, and the loser uses the winner's row.
    client_id = db.session.execute(
        _insert(Client)
        .values(group_id=group_id, pseudonym=pseudonym, first_contact_on=occurred_on,
                sex=sex, age_band=age_band)
        .on_conflict_do_nothing(index_elements=["group_id", "pseudonym"])
        .returning(Client.id)
    ).scalar()
    if client_id is None:
        winner = find_client(pseudonym)
        if winner is None:
            raise ContactError("code_needed")
        client_id = winner.id
    return client_id


def _insert(model):  # type: ignore[no-untyped-def]
    """INSERT ... ON CONFLICT for the session's backend (PostgreSQL or SQLite)."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


# --- contacts -----------------------------------------------------------------------------


def contact_by_key(idempotency_key: str) -> Contact | None:
    return db.session.scalar(select(Contact).where(Contact.idempotency_key == idempotency_key))


def active_providers() -> list[Provider]:
    return list(db.session.scalars(
        select(Provider).where(Provider.is_active.is_(True)).order_by(Provider.name)
    ))


def _check_provider(provider_id: int | None) -> None:
    if provider_id is None:
        return
    found = db.session.scalar(
        select(Provider.id).where(Provider.id == provider_id, Provider.is_active.is_(True))
    )
    if found is None:  # another group's provider is invisible here, like a missing one
        raise ContactError("unknown_provider")


def create_contact(group_id: int, peer_educator_id: int, data: ContactInput,
                   idempotency_key: str) -> int:
    """Record a contact with its client, referrals and appointments; returns its id.

    Raises DuplicateSubmission when the token was used before, also when the earlier
    request commits while this one runs (the unique (group_id, idempotency_key) decides).
    """
    if data.channel not in CHANNELS:
        raise ContactError("unknown_channel")
    for ref in data.referrals:
        if ref.service not in SERVICES:
            raise ContactError("unknown_service")
        _check_provider(ref.provider_id)

    client_id = None
    participants = None
    if data.channel == "group_session":
        participants = data.participants_count
    else:
        if not data.pseudonym:
            raise ContactError("code_needed")
        client_id = _client_id(group_id, data.pseudonym, data.occurred_on, data.sex,
                               data.age_band)

    # One statement decides a double submit: the unique (group_id, idempotency_key) makes
    # a second insert with the same token do nothing, also when the first has not
    # committed yet (PostgreSQL waits for it, then skips).
    contact_id = db.session.execute(
        _insert(Contact)
        .values(
            group_id=group_id,
            occurred_on=data.occurred_on,
            channel=data.channel,
            client_id=client_id,
            participants_count=participants,
            peer_educator_id=peer_educator_id,
            counselling_topics=list(data.counselling_topics),
            condoms=data.condoms,
            lubricants=data.lubricants,
            leaflets=data.leaflets,
            self_test_kits=data.self_test_kits,
            notes=data.notes,
            idempotency_key=idempotency_key,
        )
        .on_conflict_do_nothing(index_elements=["group_id", "idempotency_key"])
        .returning(Contact.id)
    ).scalar()
    if contact_id is None:
        winner = contact_by_key(idempotency_key)
        if winner is None:
            raise ContactError("duplicate_vanished")
        raise DuplicateSubmission(winner.id)

    for ref in data.referrals:
        referral = Referral(
            group_id=group_id, contact_id=contact_id, client_id=client_id,
            service=ref.service, provider_id=ref.provider_id, status="referred",
            referred_on=data.occurred_on,
        )
        db.session.add(referral)
        db.session.flush()
        if ref.appointment is not None:
            appt = ref.appointment
            appointment_service.create_appointment(
                group_id, referral.id, appt.scheduled_at,
                reminder_consent=appt.reminder_consent, channel=appt.channel,
                contact_value=appt.contact_value, actor_id=peer_educator_id,
            )
    db.session.flush()
    # The commodities given go into the ledger in the same transaction as the contact.
    stock.sync_given(group_id, contact_id, peer_educator_id, data.occurred_on,
                     {name: int(getattr(data, name) or 0) for name in ITEM_FIELDS}, new=True)
    return contact_id


def get_contact(contact_id: int) -> Contact | None:
    """A live (not deleted) contact of the current group."""
    return db.session.scalar(
        select(Contact).where(Contact.id == contact_id, Contact.deleted_at.is_(None))
    )


def can_see(contact: Contact, user_id: int, role: str) -> bool:
    return role == "coordinator" or contact.peer_educator_id == user_id


def can_edit(contact: Contact, user_id: int, role: str, now: datetime | None = None) -> bool:
    """A coordinator always; a peer educator their own contact for PEER_EDIT_DAYS."""
    if role == "coordinator":
        return True
    now = now or utcnow()
    return (contact.peer_educator_id == user_id
            and now - appointment_service.as_utc(contact.created_at)
            <= timedelta(days=PEER_EDIT_DAYS))


EDITABLE_FIELDS = ("occurred_on", "channel", "participants_count", "counselling_topics",
                   *ITEM_FIELDS, "notes")


def update_contact(contact: Contact, *, actor_id: int, **values: object) -> list[str]:
    """Change a contact's editable fields; audit which fields changed (never their values)."""
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    channel = values.get("channel", contact.channel)
    if channel not in CHANNELS:
        raise ContactError("unknown_channel")
    # A session has no client and an individual contact has one: the kind cannot change.
    if (channel == "group_session") != (contact.channel == "group_session"):
        raise ContactError("channel_kind")
    changed = []
    for name, value in values.items():
        if name == "participants_count" and contact.channel != "group_session":
            continue
        if getattr(contact, name) != value:
            setattr(contact, name, value)
            changed.append(name)
    if changed:
        if "occurred_on" in changed:
            if contact.client_id is not None:
                _note_contact_date(contact.client_id, contact.occurred_on)
            for referral in db.session.scalars(
                select(Referral).where(Referral.contact_id == contact.id)
            ):
                referral.referred_on = contact.occurred_on
        db.session.flush()
        if {"occurred_on", *ITEM_FIELDS} & set(changed):
            stock.sync_contact(contact)
        audit.record("contact.edited", "contact", contact.id, actor_id=actor_id,
                     fields=sorted(changed))
    return changed


def delete_contact(contact: Contact, reason: str, *, actor_id: int) -> None:
    """Soft-delete a contact with a reason code; its open appointments are cancelled."""
    if reason not in DELETE_REASONS:
        raise ContactError("unknown_reason")
    contact.deleted_at = utcnow()
    contact.delete_reason = reason
    appointment_ids = db.session.scalars(
        select(Appointment.id)
        .join(Referral, and_(Referral.group_id == Appointment.group_id,
                             Referral.id == Appointment.referral_id))
        .where(Referral.contact_id == contact.id, Appointment.status == "scheduled")
    ).all()
    for appointment_id in appointment_ids:
        appointment_service.cancel_appointment(appointment_id, actor_id=actor_id)
    db.session.flush()
    stock.sync_contact(contact)
    audit.record("contact.deleted", "contact", contact.id, actor_id=actor_id, reason=reason)


def last_channel(user_id: int) -> str | None:
    """The channel of this user's latest contact (the form's default)."""
    return db.session.scalar(
        select(Contact.channel)
        .where(Contact.peer_educator_id == user_id, Contact.deleted_at.is_(None))
        # The (group_id, peer_educator_id, occurred_on) index answers this order directly;
        # ordering by id alone made PostgreSQL walk a big group's contacts (bench/page_cost).
        .order_by(Contact.occurred_on.desc(), Contact.id.desc())
        .limit(1)
    )


@dataclass
class ContactFilters:
    peer_educator_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    channel: str | None = None
    #: A referral service code, or one of ITEM_FIELDS / "counselling" for what was given.
    service: str | None = None


def contacts_query(filters: ContactFilters):  # type: ignore[no-untyped-def]
    """The contacts matching `filters`, newest first, with the referral count and login name."""
    referral_count = (
        select(func.count(Referral.id))
        .where(Referral.group_id == Contact.group_id, Referral.contact_id == Contact.id)
        .correlate(Contact)
        .scalar_subquery()
    )
    stmt = (
        select(Contact, referral_count.label("referrals"), User.display_name)
        .join(User, User.id == Contact.peer_educator_id)
        # Explicit, besides the automatic filter: the planner then uses the group's index.
        .where(Contact.group_id == tenancy.require_group_id(), Contact.deleted_at.is_(None))
        .order_by(Contact.occurred_on.desc(), Contact.id.desc())
    )
    if filters.peer_educator_id is not None:
        stmt = stmt.where(Contact.peer_educator_id == filters.peer_educator_id)
    if filters.date_from is not None:
        stmt = stmt.where(Contact.occurred_on >= filters.date_from)
    if filters.date_to is not None:
        stmt = stmt.where(Contact.occurred_on <= filters.date_to)
    if filters.channel:
        stmt = stmt.where(Contact.channel == filters.channel)
    if filters.service in ITEM_FIELDS:
        stmt = stmt.where(getattr(Contact, filters.service) > 0)
    elif filters.service == "counselling":
        # JSON text of an empty list is "[]" on both backends.
        stmt = stmt.where(cast(Contact.counselling_topics, String) != "[]")
    elif filters.service in SERVICES:
        stmt = stmt.where(exists().where(
            Referral.group_id == Contact.group_id,
            Referral.contact_id == Contact.id,
            Referral.service == filters.service,
        ))
    return stmt


def list_contacts(filters: ContactFilters, per_page: int, *, before: Cursor | None = None,
                  after: Cursor | None = None) -> KeysetPage:
    """One page of contacts, [(contact, referral count, peer educator name)], newest first,
    with the cursors of the older and newer pages. No count: counting a big group's history
    on every view cost more than the page itself (48,144 rows read for 25 shown)."""
    return keyset_page(
        contacts_query(filters), Contact.occurred_on, Contact.id, per_page,
        before=before, after=after,
        fetch=lambda stmt: [tuple(r) for r in db.session.execute(stmt).all()],
        key_of=lambda row: (row[0].occurred_on, row[0].id))


def contact_referrals(contact_id: int) -> list[tuple[Referral, str | None]]:
    rows = db.session.execute(
        select(Referral, Provider.name)
        .outerjoin(Provider, and_(Provider.group_id == Referral.group_id,
                                  Provider.id == Referral.provider_id))
        .where(Referral.contact_id == contact_id)
        .order_by(Referral.id)
    ).all()
    return [(r, name) for r, name in rows]


def referral_appointments(referral_ids: list[int]) -> dict[int, list[Appointment]]:
    result: dict[int, list[Appointment]] = {rid: [] for rid in referral_ids}
    if not referral_ids:
        return result
    for appt in db.session.scalars(
        select(Appointment).where(Appointment.referral_id.in_(referral_ids))
        .order_by(Appointment.scheduled_at)
    ):
        result[appt.referral_id].append(appt)
    return result


# --- referrals ----------------------------------------------------------------------------


def get_referral(referral_id: int) -> tuple[Referral, Contact] | None:
    """A referral of a live contact of the current group, with that contact."""
    row = db.session.execute(
        select(Referral, Contact)
        .join(Contact, and_(Contact.group_id == Referral.group_id,
                            Contact.id == Referral.contact_id))
        .where(Referral.id == referral_id, Contact.deleted_at.is_(None))
    ).first()
    return (row[0], row[1]) if row else None


def update_referral(referral: Referral, status: str, completed_on: date | None, *,
                    actor_id: int, today: date) -> None:
    """Set a referral's status (its outcome); completed needs a date, not in the future."""
    if status not in REFERRAL_STATUSES:
        raise ContactError("unknown_status")
    if status == "completed":
        completed_on = completed_on or today
        if completed_on > today:
            raise ContactError("completed_in_future")
        if completed_on < referral.referred_on:
            raise ContactError("completed_before_referral")
    else:
        completed_on = None
    old = referral.status
    referral.status = status
    referral.completed_on = completed_on
    db.session.flush()
    audit.record("referral.updated", "referral", referral.id, actor_id=actor_id,
                 old=old, new=status)


# --- follow-ups ---------------------------------------------------------------------------


@dataclass
class FollowUps:
    open_referrals: list[Referral]
    upcoming: list[tuple[Appointment, Referral]]
    missed: list[tuple[Appointment, Referral]]
    unmarked: list[tuple[Appointment, Referral]]


def followups(*, peer_educator_id: int | None, today: date, now: datetime,
              open_after_days: int, limit: int = 100) -> FollowUps:
    """Referrals open after N days, appointments in the next 7 days, missed appointments.

    `peer_educator_id` limits everything to that person's contacts (None: the whole group).
    Two statements: the open referrals, and the three lists of appointments together (each
    list's ids with its own order and limit, in a UNION ALL), as each statement costs the
    page ~0.7 ms of CPU in the ORM besides its round trip.
    """
    live = and_(Contact.group_id == Referral.group_id, Contact.id == Referral.contact_id,
                Contact.deleted_at.is_(None))
    mine = [Contact.peer_educator_id == peer_educator_id] if peer_educator_id else []
    open_referrals = list(db.session.scalars(
        select(Referral).join(Contact, live)
        .where(Referral.status.in_(OPEN_REFERRAL_STATUSES),
               Referral.referred_on <= today - timedelta(days=open_after_days), *mine)
        .order_by(Referral.referred_on, Referral.id).limit(limit)
    ))

    of_referral = and_(Referral.group_id == Appointment.group_id,
                       Referral.id == Appointment.referral_id)

    def listed(kind: str, *conditions: object, order):  # type: ignore[no-untyped-def]
        # A subquery each: SQLite takes no ORDER BY or LIMIT on a UNION's own parts.
        part = (select(Appointment.id.label("id"), literal(kind).label("kind"))
                .join(Referral, of_referral).join(Contact, live)
                .where(*conditions, *mine).order_by(order).limit(limit)).subquery()
        return select(part.c.id, part.c.kind)

    # The statuses are written into the SQL, not sent as parameters, so that the generic
    # plan PostgreSQL keeps for this prepared statement can use ix_appointments_group_id_open
    # (a parameter could be any status; the index holds only these two).
    scheduled = Appointment.status == literal("scheduled", literal_execute=True)
    picked = union_all(
        listed("upcoming", scheduled, Appointment.scheduled_at >= now,
               Appointment.scheduled_at < now + timedelta(days=7),
               order=Appointment.scheduled_at),
        listed("unmarked", scheduled, Appointment.scheduled_at < now,
               order=Appointment.scheduled_at.desc()),
        listed("missed", Appointment.status == literal("missed", literal_execute=True),
               Referral.status.in_(OPEN_REFERRAL_STATUSES),
               order=Appointment.scheduled_at.desc()),
    ).subquery()
    lists: dict[str, list[tuple[Appointment, Referral]]] = {
        "upcoming": [], "unmarked": [], "missed": []}
    for appointment, referral, kind in db.session.execute(
        select(Appointment, Referral, picked.c.kind)
        .join(picked, picked.c.id == Appointment.id).join(Referral, of_referral)
    ):
        lists[kind].append((appointment, referral))
    for kind, rows in lists.items():  # each list in its own order, as its limit chose it
        rows.sort(key=lambda row: row[0].scheduled_at, reverse=kind != "upcoming")
    return FollowUps(open_referrals, lists["upcoming"], lists["missed"], lists["unmarked"])


# --- coordinator: the referral cascade ----------------------------------------------------


@dataclass
class CascadeRow:
    service: str
    referred: int
    booked: int
    completed: int
    declined: int
    lost: int


def referral_cascade(first_day: date, last_day: date) -> list[CascadeRow]:
    """Referrals made in a period by service: referred, booked (or further), completed.

    "Booked" counts a referral that was booked or completed, or has any appointment.
    Computed with GROUP BY in SQL.
    """
    has_appt = exists().where(Appointment.group_id == Referral.group_id,
                              Appointment.referral_id == Referral.id)
    booked = or_(Referral.status.in_(("booked", "completed")), has_appt)
    rows = db.session.execute(
        select(
            Referral.service,
            func.count(Referral.id),
            func.sum(case((booked, 1), else_=0)),
            func.sum(case((Referral.status == "completed", 1), else_=0)),
            func.sum(case((Referral.status == "declined", 1), else_=0)),
            func.sum(case((Referral.status == "lost", 1), else_=0)),
        )
        .join(Contact, and_(Contact.group_id == Referral.group_id,
                            Contact.id == Referral.contact_id))
        .where(Contact.deleted_at.is_(None), Referral.referred_on >= first_day,
               Referral.referred_on <= last_day)
        .group_by(Referral.service)
    ).all()
    by_service = {r[0]: CascadeRow(r[0], *(int(v or 0) for v in r[1:])) for r in rows}
    return [by_service[s] for s in SERVICES if s in by_service]
