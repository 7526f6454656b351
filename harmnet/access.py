"""Who may reach what: login loading, the group and department URL locks, role checks."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, current_app, g
from flask_login import current_user
from sqlalchemy import and_, bindparam, select

from . import identity_cache, tenancy
from .extensions import db, login_manager
from .models import Department, DepartmentRole, GroupMembership, PeerGroup, User

login_manager.login_view = "auth.login"
login_manager.session_protection = "basic"

# The lookups of every signed-in request, built once: a statement object keeps its SQL
# cache key, which building it anew for each request computes again (~0.1 ms each).
_USER = select(User).where(User.id == bindparam("user_id"))

# The group and the user's active membership. These run before a group is set, so they opt
# out of the ORM filter; the joins pin the membership to this group and this user, and RLS
# admits only the user's own memberships (harmnet.user_id).
_GROUP_ON = and_(PeerGroup.slug == bindparam("slug"), PeerGroup.is_active.is_(True))
_MEMBERSHIP_ON = and_(
    GroupMembership.group_id == PeerGroup.id,
    GroupMembership.user_id == bindparam("user_id"),
    GroupMembership.is_active.is_(True),
)
_GROUP_AND_MEMBERSHIP = (
    select(PeerGroup, GroupMembership)
    .join(GroupMembership, _MEMBERSHIP_ON)
    .where(_GROUP_ON)
    .execution_options(**tenancy.SKIP)
)
# On a group URL, the user with them in one statement (None for a missing group or membership).
_USER_IN_GROUP = (
    select(User, PeerGroup, GroupMembership)
    .select_from(User)
    .outerjoin(PeerGroup, _GROUP_ON)
    .outerjoin(GroupMembership, _MEMBERSHIP_ON)
    .where(User.id == bindparam("user_id"))
    .execution_options(**tenancy.SKIP)
)


@login_manager.user_loader
def _load_user(token: str) -> User | None:
    """Load the user named in the session; a stale session version means signed out.
    While `enter_group` waits for it, fetch the group and membership in the same statement."""
    try:
        user_id, version = (int(part) for part in token.split(":", 1))
    except ValueError:
        return None
    # Name the user for RLS before the query, so the transaction's one set_config carries
    # it. The id comes from the signed cookie; `users` has no policy, and the claim is
    # withdrawn below before any other statement runs if the user is refused (what the
    # statement found with it is then dropped unused).
    tenancy.set_user(user_id)
    slug = g.get("entering_group")
    cache, key = identity_cache.current(), (user_id, version, slug)
    found = cache.get(key, db.session()) if cache is not None else None
    if found is not None:
        user, group, membership = found
    else:
        epoch = cache.epoch() if cache is not None else None  # read before the rows
        params = {"user_id": user_id, "slug": slug}
        if slug is None:
            user, group, membership = db.session.scalar(_USER, params), None, None
        else:
            row = db.session.execute(_USER_IN_GROUP, params).one_or_none()
            user, group, membership = row if row is not None else (None, None, None)
        # Only what lets the user in is kept: a refusal is read again each time.
        if cache is not None and user is not None and user.is_active \
                and user.session_version == version and (slug is None or membership):
            cache.put(key, epoch, (user, group, membership))
    if user is None or not user.is_active or user.session_version != version:
        tenancy.set_user(None)
        return None
    if slug is not None:
        g.group_found = (group, membership)
    return user


@login_manager.unauthorized_handler
def _unauthorized():  # type: ignore[no-untyped-def]
    from flask import redirect, request, url_for

    return redirect(url_for("auth.login", next=request.full_path))


def _require_login() -> None:
    if not current_user.is_authenticated:
        abort(current_app.login_manager.unauthorized())  # type: ignore[attr-defined]


def enter_group(slug: str) -> None:
    """Resolve a group slug for the signed-in user and set the group context, or 404."""
    g.entering_group = slug  # a user loaded from here on comes with the group (above)
    try:
        _require_login()
    finally:
        g.pop("entering_group")
    found = g.pop("group_found", None)
    if found is None:  # the user was loaded earlier in this request, or signed in by it
        tenancy.set_user(current_user.id)  # (login_user does not go through the loader)
        params = {"slug": slug, "user_id": current_user.id}
        found = db.session.execute(_GROUP_AND_MEMBERSHIP, params).first() or (None, None)
    group, membership = found
    if membership is None:
        abort(404)  # no such group, or not a member: do not reveal that the group exists
    g.group, g.membership = group, membership
    tenancy.set_group(group.id)


def department_subtree_ids(department_id: int) -> list[int]:
    """The ids of a department and all its descendants (recursive CTE)."""
    tree = select(Department.id).where(Department.id == department_id).cte(recursive=True)
    tree = tree.union_all(select(Department.id).where(Department.parent_id == tree.c.id))
    return list(db.session.scalars(select(tree.c.id)))


def department_ancestor_ids(department_id: int) -> list[int]:
    """The ids of a department and its ancestors."""
    chain = (
        select(Department.id, Department.parent_id)
        .where(Department.id == department_id)
        .cte(recursive=True)
    )
    chain = chain.union_all(
        select(Department.id, Department.parent_id).where(Department.id == chain.c.parent_id)
    )
    return list(db.session.scalars(select(chain.c.id)))


def enter_department(code: str) -> None:
    """Resolve a department code for the signed-in user (a role here or above), or 404."""
    _require_login()
    department = db.session.scalar(select(Department).where(Department.code == code))
    if department is None:
        abort(404)
    roles = db.session.scalars(
        select(DepartmentRole).where(
            DepartmentRole.user_id == current_user.id,
            DepartmentRole.department_id.in_(department_ancestor_ids(department.id)),
        )
    ).all()
    if not roles:
        abort(404)
    g.department = department
    # The strongest role held here or on an ancestor applies.
    g.department_role = "manager" if any(r.role == "manager" for r in roles) else "viewer"


def group_blueprint(name: str, import_name: str, sub: str = "") -> Blueprint:
    """A blueprint mounted under /g/<group_slug>/<sub>, with the group lock installed."""
    bp = Blueprint(name, import_name, url_prefix=f"/g/<group_slug>{sub}")

    @bp.url_value_preprocessor
    def _pull_group(endpoint: str | None, values: dict[str, Any] | None) -> None:
        enter_group((values or {}).pop("group_slug", ""))

    @bp.url_defaults
    def _add_group(endpoint: str, values: dict[str, Any]) -> None:
        if "group_slug" not in values and g.get("group") is not None:
            values["group_slug"] = g.group.slug

    return bp


def department_blueprint(name: str, import_name: str, sub: str = "") -> Blueprint:
    """A blueprint mounted under /d/<department_code>/<sub>, with the department lock."""
    bp = Blueprint(name, import_name, url_prefix=f"/d/<department_code>{sub}")

    @bp.url_value_preprocessor
    def _pull_department(endpoint: str | None, values: dict[str, Any] | None) -> None:
        enter_department((values or {}).pop("department_code", ""))

    @bp.url_defaults
    def _add_department(endpoint: str, values: dict[str, Any]) -> None:
        if "department_code" not in values and g.get("department") is not None:
            values["department_code"] = g.department.code

    return bp


def group_role_required(*roles: str) -> Callable:
    """Allow a group route only to these roles; other members get 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if g.membership.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


coordinator_required = group_role_required("coordinator")


def department_manager_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.department_role != "manager":
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def admin_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _require_login()
        if not current_user.is_admin:
            abort(404)
        return view(*args, **kwargs)

    return wrapped
