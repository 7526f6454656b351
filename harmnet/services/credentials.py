"""Password reset links handed over in person, and an existing login joining a group."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, func, select

from .. import tenancy
from ..extensions import db
from ..models import DepartmentRole, GroupMembership, Invitation, PasswordReset, User
from ..models._types import utcnow
from ..security import new_token, token_hash
from . import accounts, audit, two_step


class ResetRefused(ValueError):
    """Who asked may not reset this login's password; `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class NewReset:
    reset: PasswordReset
    token: str


def _other_memberships(user_id: int, group_id: int | None) -> int:
    """The login's active roles in groups other than `group_id` (a count, no rows: RLS
    admits them under the login's own id only for this question)."""
    with tenancy.user_context(user_id):
        query = (
            select(func.count())
            .select_from(GroupMembership)
            .where(GroupMembership.user_id == user_id, GroupMembership.is_active.is_(True))
            .execution_options(**tenancy.SKIP)
        )
        if group_id is not None:
            query = query.where(GroupMembership.group_id != group_id)
        return db.session.scalar(query) or 0


def coordinated_groups(user_id: int) -> list[int]:
    with tenancy.user_context(user_id):
        return list(db.session.scalars(
            select(GroupMembership.group_id)
            .where(GroupMembership.user_id == user_id, GroupMembership.is_active.is_(True),
                   GroupMembership.role == "coordinator")
            .execution_options(**tenancy.SKIP)
        ))


def _department_roles(user_id: int) -> list[DepartmentRole]:
    return list(db.session.scalars(select(DepartmentRole).where(DepartmentRole.user_id == user_id)))


def check_group_reset(membership: GroupMembership, *, actor_id: int) -> User:
    """A coordinator may reset a peer educator's login whose only role is in this group:
    a login that opens more (another group, a department, the platform) is reset by
    whoever answers for that, else one group's coordinator could take it over."""
    user = db.session.get(User, membership.user_id)
    assert user is not None
    if user.id == actor_id:
        raise ResetRefused("own_login")
    if membership.role != "peer_educator" or not membership.is_active:
        raise ResetRefused("not_peer_educator")
    if user.is_admin or _department_roles(user.id) \
            or _other_memberships(user.id, membership.group_id):
        raise ResetRefused("wider_login")
    return user


def check_platform_reset(user: User, *, actor_id: int) -> None:
    """The platform admin resets coordinators (who may hold peer roles elsewhere too), never
    an admin nor a department's staff, whose managers answer for them."""
    if user.id == actor_id or user.is_admin:
        raise ResetRefused("own_login")
    if not coordinated_groups(user.id) or _department_roles(user.id):
        raise ResetRefused("not_coordinator")


def check_department_reset(role: DepartmentRole, subtree: list[int], *, actor_id: int) -> User:
    """A department manager resets staff whose every role lies in their subtree, who hold
    no group role (a department must not take over a group's login) and are not admins."""
    user = db.session.get(User, role.user_id)
    assert user is not None
    if user.id == actor_id:
        raise ResetRefused("own_login")
    outside = [r for r in _department_roles(user.id) if r.department_id not in subtree]
    if user.is_admin or outside or _other_memberships(user.id, None):
        raise ResetRefused("wider_login")
    return user


def issue_reset(user: User, scope: str, *, issued_by: int, group_ids: list[int] | None = None,
                department_id: int | None = None, lost_phone: bool = False) -> NewReset:
    """A one-time link for `user` (stored hashed); earlier unused links of theirs die.
    Audited in every group named in `group_ids` (the first is the link's own).
    `lost_phone` also turns their two-step sign-in off (they set it up again after)."""
    db.session.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id,
                                                   PasswordReset.used_at.is_(None)))
    token, digest = new_token()
    groups = group_ids or []
    reset = PasswordReset(
        token_hash=digest, user_id=user.id, issued_by_id=issued_by, scope=scope,
        group_id=groups[0] if groups else None, department_id=department_id,
        expires_at=utcnow() + current_app.config["PASSWORD_RESET_TTL"],
    )
    db.session.add(reset)
    db.session.flush()
    for group_id in groups or [None]:
        audit.record("password_reset.issued", "user", user.id, actor_id=issued_by,
                     group_id=group_id, department_id=department_id, scope=scope)
    if lost_phone and two_step.is_on(user):
        first, *others = groups or [None]
        two_step.disable(user, actor_id=issued_by, group_id=first, department_id=department_id)
        for group_id in others:  # each group's trail shows it, as it shows the link
            audit.record("two_step.disabled", "user", user.id, actor_id=issued_by,
                         group_id=group_id)
    return NewReset(reset, token)


def open_reset(token: str) -> PasswordReset | None:
    """The usable reset behind a token, or None (unknown, used or expired)."""
    reset = db.session.scalar(select(PasswordReset).where(
        PasswordReset.token_hash == token_hash(token)))
    if reset is None or reset.used_at is not None or reset.expires_at < utcnow():
        return None
    return reset


def complete_reset(reset: PasswordReset, password: str) -> User:
    """Set the new password, spend the link, and end every open session of the login."""
    user = db.session.get(User, reset.user_id)
    assert user is not None
    accounts.set_password(user, password)
    accounts.sign_out_everywhere(user)  # bumps session_version: old sessions end
    reset.used_at = utcnow()
    db.session.flush()
    audit.record("password_reset.used", "user", user.id, actor_id=user.id,
                 group_id=reset.group_id, department_id=reset.department_id)
    return user


# --- an existing login joins another group ------------------------------------------------


def join_with_existing_login(invitation: Invitation, user: User) -> GroupMembership:
    """Give a signed-in login the invited role (the group context is the invitation's)."""
    if user.is_admin:
        raise accounts.AccountError("admin_cannot_join")
    membership = db.session.scalar(
        select(GroupMembership).where(GroupMembership.user_id == user.id))
    if membership is not None and membership.is_active:
        raise accounts.AccountError("already_member")
    if membership is None:
        membership = GroupMembership(group_id=invitation.group_id, user_id=user.id,
                                     role=invitation.role, member_id=invitation.member_id)
        db.session.add(membership)
    else:
        membership.role, membership.is_active = invitation.role, True
        if invitation.member_id is not None:
            membership.member_id = invitation.member_id
    invitation.used_at = utcnow()
    invitation.used_by_id = user.id
    db.session.flush()
    audit.record("invitation.accepted", "invitation", invitation.id, actor_id=user.id,
                 group_id=invitation.group_id, existing_login=True)
    return membership
