"""Routes: the department landing page (names of groups and child departments only)."""

from __future__ import annotations

from flask import g, render_template

from ..services import org
from . import bp


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    return render_template(
        "department/home.html",
        children=org.child_departments(g.department.id),
        groups=org.department_groups(g.department.id),
    )
