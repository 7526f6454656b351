"""Server-side sign-in sessions: opened at sign-in, checked on each request, ended at sign-out."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select, update

from ..extensions import db
from ..models import User, UserSession
from ..models._types import utcnow
from ..security import token_hash

#: `last_seen_at` is written at most this often: the idle limit may end a session up to
#: this much early, never late, and a busy page costs no write.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Limits:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_config(cls) -> Limits:
        config = current_app.config
        return cls(config["SESSION_IDLE_TIMEOUT"], config["SESSION_ABSOLUTE_TIMEOUT"])


def start(user_id: int, user_agent: str | None) -> str:
    """Open a session for a user who just signed in; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(UserSession(token_hash=token_hash(token), user_id=user_id, created_at=now,
                               last_seen_at=now, user_agent=summarise_agent(user_agent)))
    db.session.flush()
    return token


def load(user_id: int, token: str) -> tuple[User, UserSession] | None:
    """The user and their open session named by a cookie, in one statement; None when
    either is missing or the session has ended (signed out here or elsewhere)."""
    row = db.session.execute(
        select(User, UserSession)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == token_hash(token), User.id == user_id,
               UserSession.ended_at.is_(None))
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def expiry(row: UserSession, limits: Limits, now: datetime) -> str | None:
    """Why the session is over by the clock ("idle" or "expired"), or None."""
    if now - row.created_at > limits.absolute:
        return "expired"
    if now - row.last_seen_at > limits.idle:
        return "idle"
    return None


def touch(row: UserSession, now: datetime) -> None:
    """Note that the session was used, at most once a minute.

    Written on its own short transaction: a page that only reads never commits its own,
    and the write must not depend on what the page does after."""
    if now - row.last_seen_at < TOUCH_EVERY:
        return
    with db.engine.begin() as conn:
        conn.execute(update(UserSession).where(UserSession.id == row.id)
                     .values(last_seen_at=now))


def end_now(session_id: int, reason: str) -> None:
    """End one session at once, on its own transaction (a session found over its limits
    during a request that will not commit)."""
    with db.engine.begin() as conn:
        conn.execute(update(UserSession)
                     .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
                     .values(ended_at=utcnow(), end_reason=reason))


def end_by_token(token: str, reason: str = "signed_out") -> None:
    """End the session a cookie names (signing out)."""
    db.session.execute(update(UserSession)
                       .where(UserSession.token_hash == token_hash(token),
                              UserSession.ended_at.is_(None))
                       .values(ended_at=utcnow(), end_reason=reason))


def end_one(user_id: int, session_id: int) -> bool:
    """End one of a user's own open sessions ("sign out this device"); False when no open
    session of this user has that id."""
    result = db.session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.user_id == user_id,
               UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason="ended_remotely")
    )
    return bool(result.rowcount)


def end_all(user_id: int, reason: str = "everywhere") -> None:
    """End every open session of a user."""
    db.session.execute(update(UserSession)
                       .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
                       .values(ended_at=utcnow(), end_reason=reason))


def open_sessions(user_id: int, limits: Limits) -> list[UserSession]:
    """A user's sessions still open and within their limits, the newest first."""
    now = utcnow()
    return list(db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None),
               UserSession.created_at > now - limits.absolute,
               UserSession.last_seen_at > now - limits.idle)
        .order_by(UserSession.last_seen_at.desc())
        .limit(50)
    ))


def purge(limits: Limits) -> int:
    """Delete the rows of ended or expired sessions; returns how many."""
    now = utcnow()
    result = db.session.execute(
        delete(UserSession).where(or_(
            UserSession.ended_at.is_not(None),
            UserSession.last_seen_at < now - limits.idle,
            UserSession.created_at < now - limits.absolute,
        ))
    )
    return result.rowcount or 0


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("SamsungBrowser", "Samsung Internet"),
             ("Zalo", "Zalo"), ("FBAN", "Messenger"), ("FB_IAB", "Messenger"),
             ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Chromium/", "Chromium"),
             ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
            ("Windows", "Windows"), ("Mac OS X", "Mac"), ("CrOS", "ChromeOS"),
            ("Linux", "Linux"))


def summarise_agent(user_agent: str | None) -> str:
    """"Chrome, Android": enough for a person to recognise their device in a list, and
    too little to fingerprint it (the whole header is never stored)."""
    agent = user_agent or ""
    browser = next((name for mark, name in _BROWSERS if mark in agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in agent), "")
    return ", ".join(part for part in (browser, system) if part)
