"""Helpers for tests: posting forms with CSRF, signing in, the tenant context."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient

PASSWORD = "correct horse battery"  # not among the common passwords, 10+ characters

_TOKEN_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                       r'name="csrf_token" value="([^"]+)"|'
                       r'value="([^"]+)" name="csrf_token"')


def csrf_from(html: str) -> str:
    match = _TOKEN_RE.search(html)
    assert match, "no CSRF token on the page"
    return next(g for g in match.groups() if g)


def get_csrf(client: FlaskClient, url: str = "/login") -> str:
    response = client.get(url)
    return csrf_from(response.get_data(as_text=True))


def post_form(client: FlaskClient, url: str, data: dict | None = None, *,
              page: str | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
    """POST a form with a valid CSRF token taken from `page` (default: `url`)."""
    token = get_csrf(client, page or url)
    payload = {"csrf_token": token, **(data or {})}
    return client.post(url, data=payload, **kwargs)


def login(client: FlaskClient, login_name: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    client.get("/login")
    return post_form(client, "/login", {"login": login_name, "password": password})


def in_group(group_id: int) -> Callable:
    """Shortcut: `with in_group(g.id): ...` sets the tenant context in a test."""
    from harmnet.tenancy import group_context

    return group_context(group_id)


def membership_id(db, group_id: int, user_id: int) -> int:  # type: ignore[no-untyped-def]
    """The id of a user's membership of a group (what the logins page's forms post to)."""
    from sqlalchemy import select

    from harmnet.models import GroupMembership

    with in_group(group_id):
        return db.session.scalar(select(GroupMembership.id).where(
            GroupMembership.user_id == user_id))


def audit_trail(statement):  # type: ignore[no-untyped-def]
    """Rows of a query on `audit_events`, read as the table's owner: on PostgreSQL row-level
    security shows the app role only the events of the context it acts in (a group, a
    department, the platform), and a test asks about every event."""
    from flask import current_app
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    url = current_app.config.get("MIGRATION_DATABASE_URL") or \
        current_app.config["SQLALCHEMY_DATABASE_URI"]
    engine = create_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            return list(session.scalars(statement))
    finally:
        engine.dispose()
