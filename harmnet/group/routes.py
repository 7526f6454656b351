"""Routes: group home, the group's logins and invitations."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import confirm
from ..access import coordinator_required
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..models import User
from ..services import accounts, reports, stock
from . import bp
from .forms import ConfirmForm, InviteForm, RoleForm

ACCOUNT_ERRORS = {
    "last_coordinator": lambda: _("A group needs at least one active coordinator."),
    "cannot_deactivate_self": lambda: _("You cannot deactivate your own login."),
}


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    # A coordinator sees the commodities running low or out (three small statements).
    low_stock = (stock.alerts(g.group, reports.local_now(g.group.timezone).date())
                 if g.membership.role == "coordinator" else [])
    return render_template("group/home.html", low_stock=low_stock)


@bp.get("/menu")
def menu():  # type: ignore[no-untyped-def]
    """Every area of the group for this role: the bar's "More", so each is two taps away."""
    return render_template("nav/menu.html")


@bp.get("/logins")
@coordinator_required
def logins():  # type: ignore[no-untyped-def]
    return render_template(
        "group/logins.html",
        logins=accounts.group_logins(g.group.id),
        invitations=accounts.pending_invitations(),
        role_form=RoleForm(formdata=None),
        confirm_form=ConfirmForm(formdata=None),
    )


@bp.route("/logins/invite", methods=["GET", "POST"])
@coordinator_required
def invite():  # type: ignore[no-untyped-def]
    form = InviteForm()
    if form.validate_on_submit():
        created = accounts.invite(
            g.group.id, form.role.data, form.label.data, invited_by=current_user.id
        )
        db.session.commit()
        link = url_for("auth.accept_invitation", token=created.token, _external=True)
        # The link is shown once, on this response only; it is never stored or logged.
        return render_template("group/invitation_link.html", link=link,
                               invitation=created.invitation)
    return render_template("group/invite.html", form=form), (400 if form.errors else 200)


def _membership_or_404(membership_id: int):  # type: ignore[no-untyped-def]
    membership = accounts.get_membership(membership_id)
    if membership is None:
        abort(404)
    return membership


@bp.post("/logins/<int:membership_id>/role")
@coordinator_required
def change_role(membership_id: int):  # type: ignore[no-untyped-def]
    membership = _membership_or_404(membership_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash(_("Please choose a role."), "error")
        return redirect(url_for("group.logins"))
    try:
        accounts.change_role(membership, form.role.data, actor_id=current_user.id)
    except accounts.AccountError as exc:
        db.session.rollback()
        flash(ACCOUNT_ERRORS[exc.code](), "error")
    else:
        db.session.commit()
        flash(_("Role changed."), "success")
    return redirect(url_for("group.logins"))


@bp.post("/logins/<int:membership_id>/deactivate")
@coordinator_required
def deactivate(membership_id: int):  # type: ignore[no-untyped-def]
    membership = _membership_or_404(membership_id)
    form = ConfirmForm()
    if (membership.is_active and membership.user_id != current_user.id
            and form.validate_on_submit() and not confirm.confirmed()):
        user = db.session.get(User, membership.user_id)
        return confirm.ask(
            title=_("Deactivate a login"),
            question=_("Deactivate the login of %(name)s (%(login)s)? They are signed out "
                       "at once and cannot sign in to this group until a coordinator "
                       "reactivates it.", name=user.display_name if user else "",
                       login=user.login if user else ""),
            confirm_label=_("Yes, deactivate"), keep_label=_("No, keep it"),
            back_url=url_for("group.logins"))
    if form.validate_on_submit():
        try:
            accounts.deactivate(membership, actor_id=current_user.id)
        except accounts.AccountError as exc:
            db.session.rollback()
            flash(ACCOUNT_ERRORS[exc.code](), "error")
        else:
            db.session.commit()
            flash(_("Login deactivated. Its open sessions end now."), "success")
    return redirect(url_for("group.logins"))


@bp.post("/logins/<int:membership_id>/reactivate")
@coordinator_required
def reactivate(membership_id: int):  # type: ignore[no-untyped-def]
    membership = _membership_or_404(membership_id)
    if ConfirmForm().validate_on_submit():
        accounts.reactivate(membership, actor_id=current_user.id)
        db.session.commit()
        flash(_("Login reactivated."), "success")
    return redirect(url_for("group.logins"))


@bp.post("/invitations/<int:invitation_id>/revoke")
@coordinator_required
def revoke_invitation(invitation_id: int):  # type: ignore[no-untyped-def]
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("group.logins"))
    if not accounts.revoke_invitation(invitation_id, actor_id=current_user.id):
        abort(404)
    db.session.commit()
    flash(_("Invitation withdrawn."), "success")
    return redirect(url_for("group.logins"))


# Lazy, so a page translates the one role it shows rather than all four (the home page's).
ROLE_NAMES = {
    "coordinator": _l("Coordinator"),
    "peer_educator": _l("Peer educator"),
    "viewer": _l("Viewer"),
    "manager": _l("Manager"),
}


@bp.app_template_filter("role_name")
def role_name(code: str) -> str:
    return str(ROLE_NAMES.get(code, code))

