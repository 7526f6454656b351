"""Routes: the place chooser, language switch, /healthz and /readyz."""

from __future__ import annotations

from flask import current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from ..extensions import db, limiter
from ..forms import LanguageForm
from ..services import accounts
from ..urls import safe_next
from . import bp


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(landing_url())


def landing_url() -> str:
    """Where a user lands after sign-in: their only place, or the chooser."""
    if current_user.is_admin:
        return url_for("admin.index")
    groups, departments = accounts.user_places(current_user)
    if len(groups) == 1 and not departments:
        return url_for("group.home", group_slug=groups[0][0])
    if len(departments) == 1 and not groups:
        return url_for("department.home", department_code=departments[0][0])
    return url_for("main.choose")


@bp.get("/choose")
@login_required
def choose():  # type: ignore[no-untyped-def]
    groups, departments = accounts.user_places(current_user)
    return render_template("main/choose.html", groups=groups, departments=departments)


@bp.get("/menu")
@login_required
def menu():  # type: ignore[no-untyped-def]
    """The menu outside a group or department: account, places, administration."""
    return render_template("nav/menu.html")


@bp.post("/lang")
@limiter.exempt
def set_language():  # type: ignore[no-untyped-def]
    form = LanguageForm()
    lang = form.lang.data if form.validate_on_submit() else None
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
            db.session.commit()
    return redirect(safe_next(form.next.data) or url_for("main.index"))


@bp.get("/healthz")
@limiter.exempt
def healthz():  # type: ignore[no-untyped-def]
    return jsonify(status="ok")


@bp.get("/readyz")
@limiter.exempt
def readyz():  # type: ignore[no-untyped-def]
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        current_app.logger.warning("readyz: database unreachable: %s", type(exc).__name__)
        checks["database"] = "unreachable"
    finally:
        db.session.rollback()
    try:
        celery = current_app.extensions["celery"]
        with celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001
        current_app.logger.warning("readyz: broker unreachable: %s", type(exc).__name__)
        checks["broker"] = "unreachable"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), (200 if ready else 503)


@bp.app_context_processor
def _path():  # type: ignore[no-untyped-def]
    return {"current_path": request.full_path.rstrip("?") if request else "/"}
