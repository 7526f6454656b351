"""Routes: the second step of signing in, and turning two-step sign-in on and off."""

from __future__ import annotations

import time

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from ..access import start_session
from ..extensions import db, limiter
from ..models import User
from ..services import audit, two_step
from ..urls import safe_next
from . import bp
from .forms import CodeForm, DisableForm, EnrolForm

#: Session key of a sign-in whose password was right and whose code is awaited.
PENDING = "two_step_pending"
PENDING_SECONDS = 5 * 60

#: Pages a login that must enrol may still open.
_OPEN_WHILE_ENROLLING = {"credentials.two_step_setup", "auth.logout", "main.set_language",
                         "static", "main.healthz", "main.readyz"}


def needs_second_step(user: User) -> bool:
    """Whether the sign-in of `user` (password right) must ask for a code now."""
    if not two_step.is_on(user):
        return False
    return not two_step.device_remembered(user, request.cookies.get(two_step.DEVICE_COOKIE))


def begin_second_step(user: User, next_url: str | None):  # type: ignore[no-untyped-def]
    """Hold the sign-in (no session yet) and ask for the code."""
    lang = session.get("lang") or user.locale  # the second step speaks the person's language
    session.clear()
    session["lang"] = lang
    session[PENDING] = {"uid": user.id, "v": user.session_version, "next": next_url or "",
                        "at": int(time.time())}
    audit.record("login.password_ok", "user", user.id, actor_id=user.id)
    db.session.commit()
    return redirect(url_for("credentials.two_step_login"))


def _limit() -> str:
    return current_app.config["TWO_STEP_RATE_LIMIT"]


def _pending_key() -> str:
    # Per login, not per address: guessing codes from many addresses gains nothing.
    return f"two-step:{(session.get(PENDING) or {}).get('uid')}"


def _failed(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code != 302


def _pending_user() -> User | None:
    pending = session.get(PENDING)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    user = db.session.get(User, pending["uid"])
    if user is None or not user.is_active or user.session_version != pending["v"]:
        return None
    return user


@bp.route("/login/two-step", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"], deduct_when=_failed, key_func=_pending_key)
def two_step_login():  # type: ignore[no-untyped-def]
    user = _pending_user()
    if user is None:
        session.pop(PENDING, None)
        flash(_("Please sign in again."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        how = two_step.check(user, form.code.data)
        if how is not None:
            audit.record("login.success", "user", user.id, actor_id=user.id, second_step=how)
            next_url = session[PENDING].get("next")
            from ..main.routes import landing_url

            start_session(user)  # flushes the server-side session row
            db.session.commit()
            response = redirect(safe_next(next_url) or landing_url())
            if form.remember.data:
                response.set_cookie(
                    two_step.DEVICE_COOKIE, two_step.device_token(user),
                    max_age=int(current_app.config["TOTP_REMEMBER_DEVICE"].total_seconds()),
                    httponly=True, samesite="Lax",
                    secure=current_app.config["SESSION_COOKIE_SECURE"])
            if how == "recovery":
                flash(_("You used a recovery code; %(n)s are left.",
                        n=two_step.recovery_codes_left(user)), "info")
            return response
        audit.record("login.two_step_failure", "user", user.id, actor_id=None)
        db.session.commit()
        form.code.errors.append(_("This code is not right. Codes change every 30 seconds."))
    form.code.data = ""
    return render_template("credentials/two_step_login.html", form=form), (
        400 if request.method == "POST" else 200)


@bp.route("/account/two-step", methods=["GET", "POST"])
@login_required
def two_step_setup():  # type: ignore[no-untyped-def]
    user = db.session.get(User, current_user.id)
    assert user is not None
    action = request.form.get("action")
    if two_step.is_on(user):
        return _manage(user, action)
    form = EnrolForm()
    if action == "enable" and form.validate_on_submit():
        codes = two_step.enable(user, form.code.data)
        if codes is not None:
            db.session.commit()
            return render_template("credentials/recovery_codes.html", codes=codes)
        form.code.errors.append(_("This code is not right. Codes change every 30 seconds."))
    secret = two_step.pending_secret(user)
    db.session.commit()
    uri = two_step.provisioning_uri(user, secret)
    qr = Markup(two_step.qr_svg(uri))  # noqa: S704 - SVG drawn here by segno, no user text
    return render_template(
        "credentials/two_step_setup.html", form=form, secret=secret, qr=qr,
        required=two_step.required_for(user),
    ), (400 if request.method == "POST" else 200)


def _manage(user: User, action: str | None):  # type: ignore[no-untyped-def]
    required = two_step.required_for(user)
    form = DisableForm()
    if action in ("disable", "regenerate") and form.validate_on_submit():
        if action == "disable" and required:
            form.code.errors.append(_("Two-step sign-in is required for your role."))
        elif two_step.check(user, form.code.data) is None:
            form.code.errors.append(_("This code is not right. Codes change every 30 seconds."))
        elif action == "regenerate":
            codes = two_step.new_recovery_codes(user)
            audit.record("two_step.recovery_codes_renewed", "user", user.id)
            db.session.commit()
            return render_template("credentials/recovery_codes.html", codes=codes)
        else:
            two_step.disable(user)

            start_session(user)  # this device stays signed in; the others end
            db.session.commit()
            flash(_("Two-step sign-in is off."), "success")
            return redirect(url_for("auth.account"))
    return render_template("credentials/two_step_manage.html", form=form, required=required,
                           left=two_step.recovery_codes_left(user)), (
        400 if request.method == "POST" else 200)


@bp.before_app_request
def _enrolment_required():  # type: ignore[no-untyped-def]
    """Where the setting requires it, a login that must use two-step sign-in and has not
    turned it on can open nothing but its set-up page."""
    if not current_app.config.get("TOTP_REQUIRED") or request.endpoint in _OPEN_WHILE_ENROLLING:
        return None
    if request.endpoint is None or not current_user.is_authenticated:
        return None
    if two_step.is_on(current_user) or not two_step.required_for(current_user):
        return None
    message = _("Your role needs two-step sign-in. Please turn it on to continue.")
    if request.path.startswith("/api/"):  # a caller of the API reads JSON, not a redirect
        from ..problem import problem

        return problem(403, message, setup=url_for("credentials.two_step_setup"))
    flash(message, "info")
    return redirect(url_for("credentials.two_step_setup"))
