"""Accounts: sign-in, passwords, invitations, roles and deactivation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from .. import tenancy
from ..extensions import db
from ..models import DepartmentRole, GroupMembership, Invitation, User
from ..models._types import utcnow
from ..security import (
    DUMMY_HASH,
    hash_password,
    needs_rehash,
    new_token,
    token_hash,
    verify_password,
)
from . import audit, sessions


class AccountError(ValueError):
    """A rule of accounts was broken; `code` says which (translated by the caller)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def normalise_login(login: str) -> str:
    return login.strip().lower()


def find_user(login: str) -> User | None:
    return db.session.scalar(select(User).where(User.login == normalise_login(login)))


def authenticate(login: str, password: str) -> User | None:
    """The active user with this login and password, or None (same work either way)."""
    user = find_user(login)
    if user is None or not user.is_active:
        verify_password(DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def create_user(
    login: str, display_name: str, password: str, *, locale: str = "vi", is_admin: bool = False
) -> User:
    login = normalise_login(login)
    if find_user(login) is not None:
        raise AccountError("login_taken")
    user = User(
        login=login,
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        locale=locale,
        is_admin=is_admin,
    )
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    db.session.flush()


def sign_out_everywhere(user: User) -> None:
    """End every open session of this user, at their next request."""
    user.session_version += 1
    sessions.end_all(user.id)
    db.session.flush()


def user_places(user: User) -> tuple[list[tuple], list[tuple]]:
    """The groups and departments a user may enter: [(slug, name, role)], [(code, name, role)]."""
    from ..models import Department, PeerGroup

    # Memberships across groups: the one query that crosses tenants for its own user
    # (RLS admits a user's own memberships through harmnet.user_id).
    tenancy.set_user(user.id)
    groups = db.session.execute(
        select(PeerGroup.slug, PeerGroup.name, GroupMembership.role)
        .join(PeerGroup, PeerGroup.id == GroupMembership.group_id)
        .where(
            GroupMembership.user_id == user.id,
            GroupMembership.is_active.is_(True),
            PeerGroup.is_active.is_(True),
        )
        .order_by(PeerGroup.name)
        .execution_options(**tenancy.SKIP)
    ).all()
    departments = db.session.execute(
        select(Department.code, Department.name, DepartmentRole.role)
        .join(Department, Department.id == DepartmentRole.department_id)
        .where(DepartmentRole.user_id == user.id)
        .order_by(Department.name)
    ).all()
    return [tuple(r) for r in groups], [tuple(r) for r in departments]


# --- group logins -------------------------------------------------------------------------


def group_logins(group_id: int) -> list[tuple[GroupMembership, User]]:
    """The logins of the current group with their memberships."""
    rows = db.session.execute(
        select(GroupMembership, User)
        .join(User, User.id == GroupMembership.user_id)
        .order_by(GroupMembership.is_active.desc(), User.display_name)
    ).all()
    return [(m, u) for m, u in rows]


def get_membership(membership_id: int) -> GroupMembership | None:
    """A membership of the current group (the tenancy filter hides others)."""
    return db.session.scalar(select(GroupMembership).where(GroupMembership.id == membership_id))


def active_coordinators(group_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(GroupMembership)
        .where(GroupMembership.role == "coordinator", GroupMembership.is_active.is_(True))
    ) or 0


def change_role(membership: GroupMembership, role: str, *, actor_id: int) -> None:
    if membership.role == role:
        return
    if membership.role == "coordinator" and active_coordinators(membership.group_id) <= 1:
        raise AccountError("last_coordinator")
    old = membership.role
    membership.role = role
    audit.record("membership.role_changed", "group_membership", membership.id,
                 actor_id=actor_id, old=old, new=role)


def deactivate(membership: GroupMembership, *, actor_id: int) -> None:
    """Deactivate a login in this group; with no role left anywhere, the login itself."""
    if membership.user_id == actor_id:
        raise AccountError("cannot_deactivate_self")
    if membership.role == "coordinator" and active_coordinators(membership.group_id) <= 1:
        raise AccountError("last_coordinator")
    membership.is_active = False
    user = db.session.get(User, membership.user_id)
    assert user is not None
    # Any open session loses this group at its next request (the lock checks is_active);
    # bumping the version also ends sessions that were open on this group's pages.
    user.session_version += 1
    # Row-level security shows this group's memberships and the acting user's own; the
    # person's roles in other groups are counted under their id (a count, no rows).
    db.session.flush()
    with tenancy.user_context(user.id):
        others = db.session.scalar(
            select(func.count())
            .select_from(GroupMembership)
            .where(
                GroupMembership.user_id == user.id,
                GroupMembership.is_active.is_(True),
                GroupMembership.id != membership.id,
            )
            .execution_options(**tenancy.SKIP)
        )
    roles = db.session.scalar(
        select(func.count()).select_from(DepartmentRole).where(DepartmentRole.user_id == user.id)
    )
    if not others and not roles and not user.is_admin:
        user.is_active = False
    audit.record("membership.deactivated", "group_membership", membership.id, actor_id=actor_id)


def reactivate(membership: GroupMembership, *, actor_id: int) -> None:
    membership.is_active = True
    user = db.session.get(User, membership.user_id)
    assert user is not None
    user.is_active = True
    audit.record("membership.reactivated", "group_membership", membership.id, actor_id=actor_id)


# --- invitations --------------------------------------------------------------------------


@dataclass
class NewInvitation:
    invitation: Invitation
    token: str


def invite(
    group_id: int, role: str, label: str, *, invited_by: int, member_id: int | None = None
) -> NewInvitation:
    """Create a one-time invitation; the token is returned once and stored hashed."""
    token, digest = new_token()
    invitation = Invitation(
        group_id=group_id,
        token_hash=digest,
        role=role,
        label=label.strip(),
        member_id=member_id,
        invited_by_id=invited_by,
        expires_at=utcnow() + current_app.config["INVITATION_TTL"],
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record("invitation.created", "invitation", invitation.id, actor_id=invited_by,
                 group_id=group_id, role=role)
    return NewInvitation(invitation, token)


def open_invitation(token: str) -> Invitation | None:
    """The usable invitation behind a token, with its group context set; else None."""
    digest = token_hash(token)
    with tenancy.lookup_context(digest):
        invitation = db.session.scalar(
            select(Invitation)
            .where(Invitation.token_hash == digest)
            .execution_options(**tenancy.SKIP)
        )
    if invitation is None or invitation.used_at is not None or invitation.expires_at < utcnow():
        return None
    tenancy.set_group(invitation.group_id)
    if invitation.role == "coordinator" and _issued_by_admin(invitation) \
            and active_coordinators(invitation.group_id):
        # An admin's invitation is for a group's first coordinator only: once the group
        # has one, it is void (else it outlives the rule that refused a second one).
        tenancy.set_group(None)
        return None
    return invitation


def _issued_by_admin(invitation: Invitation) -> bool:
    inviter = db.session.get(User, invitation.invited_by_id) if invitation.invited_by_id else None
    return inviter is not None and inviter.is_admin


def accept_invitation(
    invitation: Invitation, *, login: str, display_name: str, password: str, locale: str
) -> User:
    """Create the login, give it the invited role, and spend the invitation."""
    user = create_user(login, display_name, password, locale=locale)
    membership = GroupMembership(
        group_id=invitation.group_id, user_id=user.id, role=invitation.role,
        member_id=invitation.member_id,
    )
    db.session.add(membership)
    invitation.used_at = utcnow()
    invitation.used_by_id = user.id
    db.session.flush()
    audit.record("invitation.accepted", "invitation", invitation.id, actor_id=user.id,
                 group_id=invitation.group_id)
    return user


def pending_invitations() -> list[Invitation]:
    return list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.used_at.is_(None), Invitation.expires_at > utcnow())
            .order_by(Invitation.created_at.desc())
        )
    )


def revoke_invitation(invitation_id: int, *, actor_id: int) -> bool:
    invitation = db.session.scalar(select(Invitation).where(Invitation.id == invitation_id))
    if invitation is None or invitation.used_at is not None:
        return False
    db.session.delete(invitation)
    audit.record("invitation.revoked", "invitation", invitation_id, actor_id=actor_id)
    return True


def purge_expired_invitations(older_than: timedelta = timedelta(days=1)) -> int:
    """Delete unused invitations that expired more than `older_than` ago, group by group."""
    from ..models import PeerGroup

    removed = 0
    cutoff = utcnow() - older_than
    for group_id in db.session.scalars(select(PeerGroup.id)).all():
        with tenancy.group_context(group_id):
            stale = db.session.scalars(
                select(Invitation).where(
                    Invitation.used_at.is_(None), Invitation.expires_at < cutoff
                )
            ).all()
            for invitation in stale:
                db.session.delete(invitation)
            db.session.flush()
            removed += len(stale)
    return removed
