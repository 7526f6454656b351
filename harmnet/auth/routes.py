"""Routes: sign-in and out, the account page, invitation links."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from .. import tenancy
from ..access import SESSION_KEY, clear_session, start_session
from ..credentials.two_step import begin_second_step, needs_second_step
from ..extensions import db, limiter
from ..models import User
from ..security import token_hash, verify_password
from ..services import accounts, audit, sessions
from ..urls import safe_next
from . import bp
from .forms import (
    AcceptInvitationForm,
    AccountForm,
    ChangePasswordForm,
    EndSessionForm,
    LoginForm,
    LogoutForm,
    SignOutEverywhereForm,
)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _invitation_limit() -> str:
    return current_app.config["INVITATION_RATE_LIMIT"]


def _failed(response) -> bool:  # type: ignore[no-untyped-def]
    # Only failed attempts count against the limit: a redirect means success.
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("main.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = accounts.authenticate(form.login.data, form.password.data)
        if user is not None and needs_second_step(user):
            return begin_second_step(user, form.next.data)  # the code comes next
        if user is not None:
            audit.record("login.success", "user", user.id, actor_id=user.id)
            start_session(user)
            db.session.commit()
            from ..main.routes import landing_url

            return redirect(safe_next(form.next.data) or landing_url())
        # No login name in the trail: a mistyped password is often typed into that box.
        audit.record("login.failure", actor_id=None)
        db.session.commit()
        form.password.data = ""
        flash(_("The login name or password is not right."), "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    form = LogoutForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        audit.record("logout", "user", current_user.id)
        sessions.end_by_token(session[SESSION_KEY])
        db.session.commit()
        logout_user()
        clear_session()
        flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():  # type: ignore[no-untyped-def]
    form = AccountForm(obj=current_user)
    password_form = ChangePasswordForm(prefix="pw")
    everywhere_form = SignOutEverywhereForm(prefix="all")
    action = request.form.get("action")
    if action == "profile" and form.validate_on_submit():
        current_user.display_name = form.display_name.data
        current_user.locale = form.locale.data
        session["lang"] = form.locale.data
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("auth.account"))
    if action == "password" and password_form.validate_on_submit():
        if not verify_password(current_user.password_hash, password_form.current_password.data):
            password_form.current_password.errors.append(_("The current password is not right."))
        else:
            user = db.session.get(User, current_user.id)
            accounts.set_password(user, password_form.new_password.data)
            accounts.sign_out_everywhere(user)
            audit.record("password.changed", "user", user.id)
            # Keep this device signed in, on a new session under the new version.
            start_session(user)
            db.session.commit()
            flash(_("Your password is changed. Other devices are signed out."), "success")
            return redirect(url_for("auth.account"))
    if action == "everywhere" and everywhere_form.validate_on_submit():
        accounts.sign_out_everywhere(current_user)
        audit.record("session.signed_out_everywhere", "user", current_user.id)
        db.session.commit()
        logout_user()
        clear_session()
        flash(_("You are signed out on every device."), "info")
        return redirect(url_for("auth.login"))
    if request.method == "GET":
        form.locale.data = current_user.locale
    status = 400 if request.method == "POST" else 200
    return render_template(
        "auth/account.html", form=form, password_form=password_form,
        everywhere_form=everywhere_form, end_form=EndSessionForm(prefix="end"),
        sessions=sessions.open_sessions(current_user.id, sessions.Limits.from_config()),
        this_session=token_hash(session[SESSION_KEY]),
    ), status


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):  # type: ignore[no-untyped-def]
    """Sign out one device from another: the chosen session ends at once."""
    if not EndSessionForm(prefix="end").validate_on_submit():
        abort(400)
    if not sessions.end_one(current_user.id, session_id):
        abort(404)  # not an open session of this user: another's looks the same
    audit.record("session.ended_remotely", "user_session", session_id)
    db.session.commit()
    flash(_("That device is signed out."), "success")
    return redirect(url_for("auth.account"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit(_invitation_limit)
def accept_invitation(token: str):  # type: ignore[no-untyped-def]
    if len(token) > 100:
        abort(404)
    invitation = accounts.open_invitation(token)
    if invitation is None:
        return render_template("auth/invitation_invalid.html"), 404
    from ..models import PeerGroup

    g.invited_group = db.session.get(PeerGroup, invitation.group_id)
    form = AcceptInvitationForm()
    if request.method == "GET":
        form.display_name.data = invitation.label
    if form.validate_on_submit():
        try:
            user = accounts.accept_invitation(
                invitation,
                login=form.login.data,
                display_name=form.display_name.data,
                password=form.password.data,
                locale=session.get("lang") or current_app.config["BABEL_DEFAULT_LOCALE"],
            )
        except accounts.AccountError:
            db.session.rollback()
            tenancy.set_group(invitation.group_id)
            form.login.errors.append(_("This login name is taken. Please choose another."))
        else:
            start_session(user)
            db.session.commit()
            flash(_("Welcome! Your login is ready."), "success")
            return redirect(url_for("group.home", group_slug=g.invited_group.slug))
    return render_template("auth/accept_invitation.html", form=form, token=token), (
        400 if request.method == "POST" else 200
    )
