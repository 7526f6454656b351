"""Who may reach what: login loading, the group and department URL locks, role checks."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from sqlalchemy import and_, bindparam, select

from . import tenancy
from .extensions import db, login_manager
from .models import Department, DepartmentRole, GroupMembership, PeerGroup, User
from .models._types import utcnow
from .services import sessions

login_manager.login_view = "auth.login"
login_manager.session_protection = "basic"

#: Where the signed cookie holds the token of its server-side session.
SESSION_KEY = "sid"


@login_manager.user_loader
def load_user(user_key: str) -> User | None:
    """The signed-in user, in one statement with the open server-side session that the
    cookie's token names. A session signed out (here or on another device), past its idle
    or absolute limit, or of an older session version (password changed, deactivated) is
    no session: the request goes on as a visitor's."""
    token = session.get(SESSION_KEY)
    try:
        user_id, version = (int(part) for part in user_key.split(":", 1))
    except ValueError:
        return None
    if not isinstance(token, str):
        return None
    found = sessions.load(user_id, token)
    if found is None:
        return None
    user, row = found
    if not user.is_active or user.session_version != version:
        return None
    now = utcnow()
    reason = sessions.expiry(row, sessions.Limits.from_config(), now)
    if reason is not None:
        sessions.end_now(row.id, reason)
        return None
    sessions.touch(row, now)
    tenancy.set_user(user.id)  # RLS admits this user's own memberships (their places)
    return user


def clear_session() -> None:
    """Empty the signed cookie, keeping only the chosen language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def start_session(user: User) -> None:
    """Open a server-side session for `user` and a fresh cookie naming it (no fixation).
    Flushes the new session row: the caller commits before the response."""
    token = sessions.start(user.id, request.user_agent.string)
    clear_session()
    session[SESSION_KEY] = token
    session.permanent = True
    login_user(user)
    tenancy.set_user(user.id)


@login_manager.unauthorized_handler
def _unauthorized():  # type: ignore[no-untyped-def]
    if session.get(SESSION_KEY):  # there was a session, and it has ended
        clear_session()
        flash(_("Your session has ended. Please sign in again."), "info")
    next_url = request.full_path if request.method == "GET" else None
    return redirect(url_for("auth.login", next=next_url))


def per_login() -> str:
    """The rate limiter's key for limits counted per signed-in person, not per address."""
    return f"user:{current_user.get_id()}"


def _require_login() -> None:
    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())


# The group in the URL and the user's active membership of it. This runs before a group
# is set, so it opts out of the ORM filter; the join pins the membership to this group and
# this user, and RLS admits only the user's own memberships (harmnet.user_id).
_GROUP_AND_MEMBERSHIP = (
    select(PeerGroup, GroupMembership)
    .join(GroupMembership, and_(
        GroupMembership.group_id == PeerGroup.id,
        GroupMembership.user_id == bindparam("user_id"),
        GroupMembership.is_active.is_(True),
    ))
    .where(PeerGroup.slug == bindparam("slug"), PeerGroup.is_active.is_(True))
    .execution_options(**tenancy.SKIP)
)


def enter_group(slug: str) -> None:
    """Resolve a group slug for the signed-in user and set the group context, or 404."""
    _require_login()
    tenancy.set_user(current_user.id)  # RLS shows the user's own memberships
    found = db.session.execute(_GROUP_AND_MEMBERSHIP,
                               {"slug": slug, "user_id": current_user.id}).first()
    if found is None:
        abort(404)  # no such group, or not a member: do not reveal that the group exists
    g.group, g.membership = found
    tenancy.set_group(g.group.id)


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
    tenancy.set_departments(department_subtree_ids(department.id))  # RLS: this subtree
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
        tenancy.set_platform(True)  # RLS: the platform's own audit trail
        return view(*args, **kwargs)

    return wrapped
