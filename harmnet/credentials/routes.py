"""Routes: reset links (issued by a coordinator, a department manager or the admin, opened
by the person), and joining a group with an existing login."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from .. import tenancy
from ..access import (
    admin_required,
    coordinator_required,
    department_manager_required,
    department_subtree_ids,
    per_login,
)
from ..extensions import db, limiter
from ..models import DepartmentRole, GroupMembership, PeerGroup, User
from ..services import accounts, credentials, org
from . import admin_bp, bp, department_bp, group_bp
from .forms import ButtonForm, NewPasswordForm

REFUSALS = {
    "own_login": lambda: _("You cannot make a reset link for your own login. Use My account."),
    "not_peer_educator": lambda: _(
        "Only a peer educator's login can be reset here. The platform administrator resets "
        "coordinators' logins."),
    "wider_login": lambda: _(
        "This login is also used in another group or a department, so it cannot be reset "
        "from here."),
    "not_coordinator": lambda: _("This login is not a group coordinator's."),
}
JOIN_ERRORS = {
    "admin_cannot_join": lambda: _("A platform administrator's login cannot join a group."),
    "already_member": lambda: _("You are already a member of this group."),
}
JOIN_COOKIE = "harmnet_join"


def _issue_limit() -> str:
    return current_app.config["RESET_ISSUE_RATE_LIMIT"]


def _open_limit() -> str:
    return current_app.config["INVITATION_RATE_LIMIT"]


def _lost_phone() -> bool:
    """The second button: the person lost the phone with their codes too."""
    return request.form.get("two_step") == "off"


def _link_page(reset: credentials.NewReset, user: User, back: str):  # type: ignore[no-untyped-def]
    db.session.commit()
    link = url_for("credentials.reset_password", token=reset.token, _external=True)
    # Shown once, on this response only; never stored or logged (harmnet/redact.py).
    return render_template("credentials/reset_link.html", link=link, person=user, back=back,
                           two_step_off=_lost_phone())


# --- issuing: a coordinator, for a peer educator of the group --------------------------------


@group_bp.post("/<int:membership_id>/reset")
@coordinator_required
@limiter.limit(_issue_limit, key_func=per_login)
def group_reset(membership_id: int):  # type: ignore[no-untyped-def]
    membership = accounts.get_membership(membership_id)
    if membership is None:
        abort(404)
    if not ButtonForm().validate_on_submit():
        return redirect(url_for("group.logins"))
    try:
        user = credentials.check_group_reset(membership, actor_id=current_user.id)
    except credentials.ResetRefused as exc:
        flash(REFUSALS[exc.code](), "error")
        return redirect(url_for("group.logins"))
    created = credentials.issue_reset(user, "group", issued_by=current_user.id,
                                      group_ids=[g.group.id], lost_phone=_lost_phone())
    return _link_page(created, user, url_for("group.logins"))


# --- issuing: a department manager, for the department's staff -------------------------------


def _staff(subtree: list[int]) -> list[tuple[DepartmentRole, User, str]]:
    from ..models import Department

    rows = db.session.execute(
        select(DepartmentRole, User, Department.name)
        .join(User, User.id == DepartmentRole.user_id)
        .join(Department, Department.id == DepartmentRole.department_id)
        .where(DepartmentRole.department_id.in_(subtree))
        .order_by(Department.name, User.display_name)
    ).all()
    return [(r, u, name) for r, u, name in rows]


@department_bp.get("/")
@department_manager_required
def staff():  # type: ignore[no-untyped-def]
    subtree = department_subtree_ids(g.department.id)
    return render_template("credentials/staff.html", staff=_staff(subtree),
                           button=ButtonForm(formdata=None))


@department_bp.post("/<int:role_id>/reset")
@department_manager_required
@limiter.limit(_issue_limit, key_func=per_login)
def department_reset(role_id: int):  # type: ignore[no-untyped-def]
    subtree = department_subtree_ids(g.department.id)
    role = db.session.get(DepartmentRole, role_id)
    if role is None or role.department_id not in subtree:
        abort(404)  # another department's staff: not found, as any other id
    if not ButtonForm().validate_on_submit():
        return redirect(url_for("department_credentials.staff"))
    try:
        user = credentials.check_department_reset(role, subtree, actor_id=current_user.id)
    except credentials.ResetRefused as exc:
        flash(REFUSALS[exc.code](), "error")
        return redirect(url_for("department_credentials.staff"))
    created = credentials.issue_reset(user, "department", issued_by=current_user.id,
                                      department_id=g.department.id, lost_phone=_lost_phone())
    return _link_page(created, user, url_for("department_credentials.staff"))


# --- issuing: the platform admin, for coordinators ------------------------------------------


def _coordinators() -> list[tuple[PeerGroup, list[User]]]:
    """Each group with its active coordinators' logins (account data, no group records)."""
    found = []
    for group in org.all_groups():
        with tenancy.group_context(group.id):
            users = list(db.session.scalars(
                select(User)
                .join(GroupMembership, GroupMembership.user_id == User.id)
                .where(GroupMembership.role == "coordinator", GroupMembership.is_active.is_(True))
                .order_by(User.display_name)
            ))
        found.append((group, users))
    return found


@admin_bp.get("/")
@admin_required
def coordinators():  # type: ignore[no-untyped-def]
    return render_template("credentials/coordinators.html", groups=_coordinators(),
                           button=ButtonForm(formdata=None))


@admin_bp.post("/<int:user_id>/reset")
@admin_required
@limiter.limit(_issue_limit, key_func=per_login)
def admin_reset(user_id: int):  # type: ignore[no-untyped-def]
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if not ButtonForm().validate_on_submit():
        return redirect(url_for("admin_credentials.coordinators"))
    try:
        credentials.check_platform_reset(user, actor_id=current_user.id)
    except credentials.ResetRefused as exc:
        flash(REFUSALS[exc.code](), "error")
        return redirect(url_for("admin_credentials.coordinators"))
    # In each of the person's groups' trails: the group sees what the admin did.
    created = credentials.issue_reset(user, "platform", issued_by=current_user.id,
                                      group_ids=credentials.coordinated_groups(user.id),
                                      lost_phone=_lost_phone())
    return _link_page(created, user, url_for("admin_credentials.coordinators"))


# --- opening a reset link -----------------------------------------------------------------------


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_open_limit)
def reset_password(token: str):  # type: ignore[no-untyped-def]
    reset = credentials.open_reset(token) if len(token) <= 100 else None
    if reset is None:
        return render_template("credentials/reset_invalid.html"), 404
    user = db.session.get(User, reset.user_id)
    assert user is not None
    form = NewPasswordForm()
    if form.validate_on_submit():
        if (problem := _same_as_login(form.password.data, user.login)) is not None:
            form.password.errors.append(problem)
        else:
            credentials.complete_reset(reset, form.password.data)
            db.session.commit()
            flash(_("Your new password is set. Sign in with it."), "success")
            return redirect(url_for("auth.login"))
    return render_template("credentials/reset_password.html", form=form, person=user), (
        400 if request.method == "POST" else 200)


def _same_as_login(password: str, login: str) -> str | None:
    from ..auth.forms import PASSWORD_MESSAGES
    from ..security import password_problem

    problem = password_problem(password, login)
    return str(PASSWORD_MESSAGES[problem]) if problem else None


# --- an existing login joins a group ------------------------------------------------------------


def _join_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="harmnet-join")


@bp.get("/invite/<token>/join")
@limiter.limit(_open_limit)
def start_join(token: str):  # type: ignore[no-untyped-def]
    """Keep the invitation in a short-lived cookie for /join (never in a URL the sign-in
    carries along), then sign in if need be."""
    if len(token) > 100 or accounts.open_invitation(token) is None:
        return render_template("auth/invitation_invalid.html"), 404
    target = url_for("credentials.join")
    response = redirect(target if current_user.is_authenticated
                        else url_for("auth.login", next=target))
    response.set_cookie(JOIN_COOKIE, _join_signer().dumps(token), max_age=15 * 60,
                        path=target, httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@bp.route("/join", methods=["GET", "POST"])
@login_required
@limiter.limit(_open_limit, methods=["POST"])
def join():  # type: ignore[no-untyped-def]
    try:
        token = _join_signer().loads(request.cookies.get(JOIN_COOKIE, ""), max_age=15 * 60)
    except BadSignature:
        token = None
    invitation = accounts.open_invitation(token) if token else None
    if invitation is None:
        return render_template("auth/invitation_invalid.html"), 404
    group = db.session.get(PeerGroup, invitation.group_id)
    form = ButtonForm()
    if form.validate_on_submit():
        try:
            credentials.join_with_existing_login(invitation, db.session.get(User, current_user.id))
        except accounts.AccountError as exc:
            db.session.rollback()
            flash(JOIN_ERRORS[exc.code](), "error")
        else:
            db.session.commit()
            flash(_("You joined %(group)s.", group=group.name), "success")
            response = redirect(url_for("group.home", group_slug=group.slug))
            response.delete_cookie(JOIN_COOKIE, path=url_for("credentials.join"))
            return response
    return render_template("credentials/join.html", form=form, invited_group=group,
                           role=invitation.role)
