"""Routes: the provider directory (everyone reads it; coordinators create and edit)."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import coordinator_required
from ..extensions import db
from ..services import providers as service
from . import bp
from .forms import ProviderForm


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return render_template("providers/index.html", providers=service.list_providers())


@bp.route("/new", methods=["GET", "POST"])
@coordinator_required
def new():  # type: ignore[no-untyped-def]
    form = ProviderForm()
    if form.is_submitted():
        if form.validate():
            service.create_provider(g.group.id, actor_id=current_user.id, **form.values())
            db.session.commit()
            flash(_("Provider saved."), "success")
            return redirect(url_for("providers.index"))
        return render_template("providers/form.html", form=form, provider=None), 400
    return render_template("providers/form.html", form=form, provider=None)


@bp.route("/<int:provider_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit(provider_id: int):  # type: ignore[no-untyped-def]
    provider = service.get_provider(provider_id)
    if provider is None:
        abort(404)
    form = ProviderForm(obj=provider)
    if form.is_submitted():
        if form.validate():
            service.update_provider(provider, actor_id=current_user.id, **form.values())
            db.session.commit()
            flash(_("Provider saved."), "success")
            return redirect(url_for("providers.index"))
        return render_template("providers/form.html", form=form, provider=provider), 400
    return render_template("providers/form.html", form=form, provider=provider)
