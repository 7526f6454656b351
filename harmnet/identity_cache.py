"""The signed-in user, their group and membership, kept between requests in each process.

Every signed-in page needs the user, and every group page the group and the user's
membership in it. Reading them costs a statement and four round trips to PostgreSQL
(checkout ping, BEGIN, the RLS context, ROLLBACK), more than the rest of a simple page.
This cache keeps a copy in the process, keyed by (user id, session version, group slug),
and trusts it only while a Redis counter, the *epoch*, has not moved since the copy was
read. Every commit that changes a user, a group or a membership moves the epoch (the
session events below), so a deactivated login, a revoked membership or a changed role
takes effect on the next request in every process, as without the cache.

How a process learns of a move without asking Redis on every request: moving the epoch
also publishes its new value, and each process holds a subscription to it. A request
looks at that connection's socket without waiting (a microsecond, where a GET took a
round trip and a tenth of a millisecond): Redis has written the message there before the
change's commit has returned, so the next request anywhere sees it. Once a second a
request also reads the counter itself, which catches a connection that died silently and
a counter moved by hand. Whenever the subscription is (re)made, the process's copies are
dropped: it cannot know what it missed while it was away.

A copy also expires after `IDENTITY_CACHE_SECONDS`, which bounds a change made around the
ORM (psql, a script that does not commit through a Flask-SQLAlchemy session); after such a
change, `flask forget-identities` moves the epoch by hand. Without
Redis (the `make run` default) or with the setting at 0, there is no cache. When Redis
cannot be reached, every request reads the database (and the process tries again after
`RETRY_SECONDS`); when a commit cannot move the epoch, the cache is cleared and stays off
in this process until Redis answers again.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import redis
from flask import Flask, current_app, g, has_app_context
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import event, inspect
from sqlalchemy.orm import InstanceState, ORMExecuteState, Session
from sqlalchemy.orm.attributes import instance_state

from .models import GroupMembership, PeerGroup, User

log = logging.getLogger(__name__)

EPOCH_KEY = "harmnet:identity-epoch"
#: The channel on which each move of the epoch is published, with its new value.
EPOCH_CHANNEL = "harmnet:identity-epoch"
#: How often a process reads the counter itself, besides listening for its moves.
CHECK_SECONDS = 1.0
#: How long a process waits before trying Redis again after it failed to answer.
RETRY_SECONDS = 5.0

# One step, so no process can see the new value before it is the counter's.
_MOVE = """
local value = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], value)
return value
"""


def move_epoch(client: redis.Redis) -> int:
    """Move the epoch and tell every process: ends every kept copy, everywhere."""
    return int(client.eval(_MOVE, 1, EPOCH_KEY, EPOCH_CHANNEL))
WATCHED = (User, GroupMembership, PeerGroup)
_CHANGED = "harmnet_identity_changed"
_NO_EPOCH = object()


class _Row(NamedTuple):
    cls: type
    key: tuple  # the identity key, as the session's identity map has it
    values: dict[str, Any]
    mutable: tuple[str, ...]


@dataclass(frozen=True)
class _Entry:
    epoch: tuple[int, int]
    expires: float
    rows: tuple[_Row | None, ...]


class IdentityCache:
    """Per-process copies of (user, group, membership) rows, checked against the epoch."""

    def __init__(self, redis_url: str, seconds: float, size: int = 5_000) -> None:
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=0.5,
                                          socket_connect_timeout=0.5)
        # The subscription's own client: no retry, so that a broken connection shows
        # here (and the copies are dropped) instead of being remade behind our back.
        self._listen = redis.Redis.from_url(redis_url, socket_timeout=0.5,
                                            socket_connect_timeout=0.5,
                                            retry=Retry(NoBackoff(), 0))
        self.seconds = seconds
        self.size = size
        self.entries: dict[tuple, _Entry] = {}
        self.lock = threading.Lock()
        self._pubsub: redis.client.PubSub | None = None
        self._pid = 0
        self._value: int | None = None  # the epoch as last heard; None: not listening
        # Counts subscriptions: a copy read before Redis went away must not match a
        # counter that, restarted from nothing, comes back to the same number.
        self._generation = 0
        self._check_at = 0.0  # when to read the counter itself
        self._retry_at = 0.0  # when to try Redis again after a failure

    # --- the epoch ------------------------------------------------------------------------
    def epoch(self) -> tuple[int, int] | None:
        """This request's reading of the epoch, or None if Redis is away. Read once: a
        request sees one state of the cache."""
        value = g.get("_identity_epoch", _NO_EPOCH)
        if value is _NO_EPOCH:
            value = g._identity_epoch = self._heard()
        return value  # type: ignore[return-value]

    def _heard(self) -> tuple[int, int] | None:
        """The newest epoch this process knows of: read what the subscription has
        received, without waiting for more."""
        now = time.monotonic()
        with self.lock:
            try:
                if self._pubsub is None or self._pid != os.getpid():
                    if now < self._retry_at:
                        return None
                    self._subscribe()
                elif now >= self._check_at:
                    self._raise_to(int(self._listen.get(EPOCH_KEY) or 0))
                    self._check_at = now + CHECK_SECONDS
                while (message := self._pubsub.get_message(timeout=0)) is not None:  # type: ignore[union-attr]
                    if message["type"] == "message":
                        self._raise_to(int(message["data"]))
                return (self._generation, self._value)  # type: ignore[return-value]
            except (redis.RedisError, OSError, ValueError):
                self._stop_listening(now)
                return None

    def _subscribe(self) -> None:
        # Forked, or back after a failure: start clean. Subscribe first, then read the
        # counter, so that no move falls between the two.
        self._stop_listening(0.0)
        self._pubsub = self._listen.pubsub()
        self._pubsub.subscribe(EPOCH_CHANNEL)
        confirmed = self._pubsub.get_message(timeout=0.5)
        if confirmed is None or confirmed["type"] != "subscribe":
            raise redis.ConnectionError("no subscription")
        self._pid = os.getpid()
        self._generation += 1
        self._value = int(self._listen.get(EPOCH_KEY) or 0)
        self._check_at = time.monotonic() + CHECK_SECONDS

    def _raise_to(self, value: int) -> None:
        # Moves may arrive out of order; the counter only grows (a Redis that lost it
        # breaks the subscription, and `_subscribe` starts again from its value).
        if self._value is None or value > self._value:
            self._value = value

    def _stop_listening(self, now: float) -> None:
        """Forget everything heard: the copies cannot be trusted until we listen again."""
        if self._pubsub is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                self._pubsub.close()
        self._pubsub, self._value = None, None
        self._retry_at = now + RETRY_SECONDS if now else 0.0
        self.entries.clear()

    def bump(self) -> bool:
        """A watched row changed: every process's copies are stale from now on. False when
        Redis did not answer (then only this process's copies are gone)."""
        try:
            value = move_epoch(self.redis)
        except redis.RedisError:
            # The other processes cannot be told; clear ours, and the copies elsewhere
            # are bounded by their expiry. Log the event, never the rows.
            log.error("identity cache: could not move the epoch; copies expire within %ss",
                      self.seconds)
            with self.lock:
                self._stop_listening(time.monotonic())
            return False
        with self.lock:  # this process knows at once, whatever the subscription says
            if self._value is not None:
                self._raise_to(value)
        return True

    # --- the copies -----------------------------------------------------------------------
    def get(self, key: tuple, session: Session) -> tuple[Any, ...] | None:
        """The cached rows for `key`, attached to `session` (no SQL), or None."""
        epoch = self.epoch()
        entry = self.entries.get(key)
        if epoch is None or entry is None or entry.epoch != epoch \
                or entry.expires < time.monotonic():
            return None
        return tuple(None if row is None else _attach(session, row) for row in entry.rows)

    def put(self, key: tuple, epoch: tuple[int, int] | None, objects: tuple[Any, ...]) -> None:
        """Keep copies of freshly loaded `objects`, valid for the epoch read before them."""
        if epoch is None:
            return
        rows = tuple(None if o is None else _row(o) for o in objects)
        with self.lock:
            if len(self.entries) >= self.size:
                # Simple and bounded (~2 kB a copy); refills at one statement a user.
                self.entries.clear()
            self.entries[key] = _Entry(epoch, time.monotonic() + self.seconds, rows)


#: Never kept in a long-lived copy: loaded from the database the rare time a request
#: reads them (the password form), like any expired attribute.
SECRET_COLUMNS = frozenset({"password_hash", "totp_secret"})


def _row(obj: Any) -> _Row:
    """The class, identity key and column values of a loaded object, and which values are
    mutable (a JSON column's dict or list), each copied so that editing it in place in one
    request reaches neither the copy nor another request. Scalars are immutable and shared."""
    values = {attr.key: copy.deepcopy(getattr(obj, attr.key))
              for attr in obj.__mapper__.column_attrs if attr.key not in SECRET_COLUMNS}
    mutable = tuple(k for k, v in values.items() if isinstance(v, dict | list))
    return _Row(type(obj), inspect(obj).identity_key, values, mutable)


def _attach(session: Session, row: _Row) -> Any:
    """A fresh instance for this request, persistent in `session` as if a query had just
    loaded it, without a statement: none of its attributes is dirty, and the ones not kept
    (the secrets, the relationships) load from the database when read, as expired ones do.

    These are the steps of `make_transient_to_detached` and then of the ORM's loader
    (key, committed state, identity map), with the key and the set of attributes to
    expire worked out once per row and class rather than per request. `Session.add`
    would do the same, but also begins a transaction and walks the cascades: with
    `make_transient_to_detached`, a tenth of the home page's CPU for three rows."""
    if (present := session.identity_map.get(row.key)) is not None:
        return present  # loaded earlier in this request: that one is current
    obj = row.cls.__mapper__.class_manager.new_instance()
    obj.__dict__.update(row.values)
    for k in row.mutable:
        obj.__dict__[k] = copy.deepcopy(row.values[k])
    state = instance_state(obj)
    state.key = row.key
    state._commit_all(state.dict)
    state._expire_attributes(state.dict, _not_kept(row.cls, state))
    state.session_id = session.hash_key
    session.identity_map.add(state)
    return obj


_NOT_KEPT: dict[type, frozenset[str]] = {}


def _not_kept(cls: type, state: InstanceState) -> frozenset[str]:
    # The same for every row of a class: all its attributes but the kept columns.
    found = _NOT_KEPT.get(cls)
    if found is None:
        found = _NOT_KEPT[cls] = frozenset(state.unloaded)
    return found


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
