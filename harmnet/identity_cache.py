"""The signed-in user, their group and membership, kept between requests in each process.

Every signed-in page needs the user, and every group page the group and the user's
membership in it. Reading them costs a statement and four round trips to PostgreSQL
(checkout ping, BEGIN, the RLS context, ROLLBACK), more than the rest of a simple page.
This cache keeps a copy in the process, keyed by (user id, session version, group slug),
and trusts it only while a Redis counter, the *epoch*, has not moved since the copy was
read. Every commit that changes a user, a group or a membership moves the epoch (the
session events below), so a deactivated login, a revoked membership or a changed role
takes effect on the next request in every process, as without the cache.

A copy also expires after `IDENTITY_CACHE_SECONDS`, which bounds a change made around the
ORM (psql, a script that does not commit through a Flask-SQLAlchemy session); after such a
change, `flask forget-identities` moves the epoch by hand. Without
Redis (the `make run` default) or with the setting at 0, there is no cache. When Redis
cannot be reached, every request reads the database; when a commit cannot move the epoch,
the cache is cleared and stays off in this process until Redis answers again.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask, current_app, g, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached

from .models import GroupMembership, PeerGroup, User

log = logging.getLogger(__name__)

EPOCH_KEY = "harmnet:identity-epoch"
WATCHED = (User, GroupMembership, PeerGroup)
_CHANGED = "harmnet_identity_changed"
_NO_EPOCH = object()


@dataclass(frozen=True)
class _Entry:
    epoch: bytes
    expires: float
    rows: tuple[tuple[type, dict[str, Any]] | None, ...]


class IdentityCache:
    """Per-process copies of (user, group, membership) rows, checked against the epoch."""

    def __init__(self, redis_url: str, seconds: float, size: int = 5_000) -> None:
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=0.5,
                                          socket_connect_timeout=0.5)
        self.seconds = seconds
        self.size = size
        self.entries: dict[tuple, _Entry] = {}
        self.lock = threading.Lock()

    # --- the epoch ------------------------------------------------------------------------
    def epoch(self) -> bytes | None:
        """This request's reading of the epoch (one Redis GET a request), or None if Redis
        is away. Read once: a request sees one state of the cache."""
        value = g.get("_identity_epoch", _NO_EPOCH)
        if value is _NO_EPOCH:
            try:
                value = self.redis.get(EPOCH_KEY) or b"0"
            except redis.RedisError:
                value = None
            g._identity_epoch = value
        return value  # type: ignore[return-value]

    def bump(self) -> bool:
        """A watched row changed: every process's copies are stale from now on. False when
        Redis did not answer (then only this process's copies are gone)."""
        try:
            self.redis.incr(EPOCH_KEY)
            return True
        except redis.RedisError:
            # The other processes cannot be told; clear ours, and the copies elsewhere
            # are bounded by their expiry. Log the event, never the rows.
            log.error("identity cache: could not move the epoch; copies expire within %ss",
                      self.seconds)
            with self.lock:
                self.entries.clear()
            return False

    # --- the copies -----------------------------------------------------------------------
    def get(self, key: tuple, session: Session) -> tuple[Any, ...] | None:
        """The cached rows for `key`, attached to `session` (no SQL), or None."""
        epoch = self.epoch()
        entry = self.entries.get(key)
        if epoch is None or entry is None or entry.epoch != epoch \
                or entry.expires < time.monotonic():
            return None
        return tuple(None if row is None else _attach(session, *row) for row in entry.rows)

    def put(self, key: tuple, epoch: bytes | None, objects: tuple[Any, ...]) -> None:
        """Keep copies of freshly loaded `objects`, valid for the epoch read before them."""
        if epoch is None:
            return
        rows = tuple(None if o is None else (type(o), _columns(o)) for o in objects)
        with self.lock:
            if len(self.entries) >= self.size:
                # Simple and bounded (~2 kB a copy); refills at one statement a user.
                self.entries.clear()
            self.entries[key] = _Entry(epoch, time.monotonic() + self.seconds, rows)


#: Never kept in a long-lived copy: loaded from the database the rare time a request
#: reads them (the password form), like any expired attribute.
SECRET_COLUMNS = frozenset({"password_hash", "totp_secret"})


def _columns(obj: Any) -> dict[str, Any]:
    return {attr.key: _own(getattr(obj, attr.key)) for attr in obj.__mapper__.column_attrs
            if attr.key not in SECRET_COLUMNS}


def _own(value: Any) -> Any:
    # Scalars are immutable; a JSON column's dict or list is copied, so that editing it
    # in place in one request reaches neither the copy nor another request.
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


def _attach(session: Session, cls: type, values: dict[str, Any]) -> Any:
    """A fresh instance for this request, persistent in `session` without a statement: its
    attributes are set as a query's loader sets them, so none is dirty."""
    key = session.identity_key(cls, values[cls.__mapper__.primary_key[0].key])
    if (present := session.identity_map.get(key)) is not None:
        return present  # loaded earlier in this request: that one is current
    obj = cls.__mapper__.class_manager.new_instance()
    obj.__dict__.update({k: _own(v) for k, v in values.items()})
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def init_app(app: Flask) -> None:
    seconds = float(app.config.get("IDENTITY_CACHE_SECONDS", 0))
    url = app.config.get("REDIS_URL")
    app.extensions["identity_cache"] = IdentityCache(url, seconds) if url and seconds else None


def current() -> IdentityCache | None:
    return current_app.extensions.get("identity_cache") if has_app_context() else None


# --- what moves the epoch: any flush or bulk statement that touches a watched row ---------
#: Written at every sign-in and shown nowhere: a copy may keep an older value, and
#: signing in does not end every process's copies.
UNWATCHED_COLUMNS = frozenset({"last_login_at"})


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: object) -> None:
    # Attribute history is still there in after_flush.
    if any(isinstance(o, WATCHED) for o in (*session.new, *session.deleted)) or any(
            isinstance(o, WATCHED) and _changed_columns(o) - UNWATCHED_COLUMNS
            for o in session.dirty):
        session.info[_CHANGED] = True


def _changed_columns(obj: Any) -> set[str]:
    state = inspect(obj)
    return {attr.key for attr in state.attrs if attr.history.has_changes()}


@event.listens_for(Session, "do_orm_execute")
def _bulk(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete or state.is_insert) and any(
            m.class_ in WATCHED for m in state.all_mappers):
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False) and (cache := current()) is not None:
        cache.bump()

# No listener clears the mark on rollback: a savepoint's rollback would clear it for a
# change the outer transaction still commits. A spare bump costs one statement a user.
