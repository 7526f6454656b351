"""Routes: sign-in and out, the account page, invitation links."""

from __future__ import annotations

import time

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from .. import tenancy
from ..extensions import db, limiter
from ..security import verify_password
from ..services import accounts, audit
from ..urls import safe_next
from . import bp
from .forms import (
    AcceptInvitationForm,
    AccountForm,
    ChangePasswordForm,
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


def _start_session(user) -> None:  # type: ignore[no-untyped-def]
    lang = session.get("lang")
    session.clear()  # a fresh session on sign-in (no fixation)
    if lang:
        session["lang"] = lang
    login_user(user)
    now = int(time.time())
    session["_started"] = now
    session["_seen"] = now
    session.permanent = True


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
        if user is not None:
            audit.record("login.success", "user", user.id, actor_id=user.id)
            db.session.commit()
            _start_session(user)
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
        db.session.commit()
        logout_user()
        lang = session.get("lang")
        session.clear()
        if lang:
            session["lang"] = lang
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
            accounts.set_password(current_user, password_form.new_password.data)
            accounts.sign_out_everywhere(current_user)
            audit.record("password.changed", "user", current_user.id)
            db.session.commit()
            # Keep this device signed in under the new session version.
            _start_session(current_user._get_current_object())
            flash(_("Your password is changed. Other devices are signed out."), "success")
            return redirect(url_for("auth.account"))
    if action == "everywhere" and everywhere_form.validate_on_submit():
        accounts.sign_out_everywhere(current_user)
        audit.record("session.signed_out_everywhere", "user", current_user.id)
        db.session.commit()
        logout_user()
        session.clear()
        flash(_("You are signed out on every device."), "info")
        return redirect(url_for("auth.login"))
    if request.method == "GET":
        form.locale.data = current_user.locale
    status = 400 if request.method == "POST" else 200
    return render_template(
        "auth/account.html", form=form, password_form=password_form,
        everywhere_form=everywhere_form,
    ), status


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
            db.session.commit()
            _start_session(user)
            flash(_("Welcome! Your login is ready."), "success")
            return redirect(url_for("group.home", group_slug=g.invited_group.slug))
    return render_template("auth/accept_invitation.html", form=form, token=token), (
        400 if request.method == "POST" else 200
    )
