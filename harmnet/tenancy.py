"""Tenancy: the current group context, the automatic ORM filter and the PostgreSQL RLS hook.

Three locks (DESIGN section 4): the URL preprocessor checks membership and calls
`set_group`; the `do_orm_execute` listener below adds `group_id = current` to every ORM
statement on a `GroupScoped` model and raises when no group is set; on PostgreSQL the same
id is written per transaction with `set_config(..., true)` for the row-level security
policies, which hold even for `text()` SQL and identity-map hits that the ORM filter misses.
The settings go out right before any statement of a session transaction whose context
differs from what that transaction last sent: a request that names its user before its
first query and changes nothing after pays for one `set_config`, not three.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import g, has_app_context
from sqlalchemy import BigInteger, ForeignKey, Integer, UniqueConstraint, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)

#: The id type of every table: BIGINT on PostgreSQL, INTEGER (autoincrementing) on SQLite.
BigId = BigInteger().with_variant(Integer, "sqlite")

#: Execution option that lets one statement cross groups (workers, admin). Use sparingly.
SKIP = {"skip_tenancy": True}

_SETTINGS = ("group_id", "user_id", "lookup", "departments", "platform", "reports")


class TenancyError(RuntimeError):
    """A group-scoped query ran with no group context."""


class GroupScoped:
    """Mixin of every group-owned model: `group_id`, and `UNIQUE (group_id, id)`.

    The unique pair is what composite foreign keys from other group-owned tables point at,
    so the database refuses a row that references another group's row.
    """

    #: The owning group (tenant).
    group_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("peer_groups.id", ondelete="RESTRICT"), nullable=False
    )

    @declared_attr.directive
    def __table_args__(cls) -> tuple:  # noqa: N805
        return (UniqueConstraint("group_id", "id"), *getattr(cls, "__group_args__", ()))


def _get(name: str) -> int | str | None:
    if not has_app_context():
        return None
    return g.get(f"harmnet_{name}")


def current_group_id() -> int | None:
    """The id of the group this request or task acts for, or None."""
    return _get("group_id")  # type: ignore[return-value]


def require_group_id() -> int:
    """The current group id; raise when none is set."""
    gid = current_group_id()
    if gid is None:
        raise TenancyError("no group context")
    return gid


def _set(name: str, value: int | str | None) -> None:
    # No database call here: the next statement sends the new context (`_sync` below).
    setattr(g, f"harmnet_{name}", value)


def set_group(group_id: int | None) -> None:
    """Set the group context for the rest of this app context."""
    _set("group_id", group_id)


def set_departments(department_ids: list[int] | None) -> None:
    """Record the department subtree a department page acts for (RLS on department-level
    tables and the department's audit trail)."""
    _set("departments", ",".join(str(i) for i in department_ids) if department_ids else None)


def set_platform(on: bool) -> None:
    """Mark an admin page: RLS then admits the platform's own audit trail."""
    _set("platform", "1" if on else None)


def set_user(user_id: int | None) -> None:
    """Record the signed-in user, whose own memberships RLS admits across groups."""
    _set("user_id", user_id)


@contextmanager
def group_context(group_id: int | None) -> Iterator[None]:
    """Run a block as group `group_id`, restoring the previous context after."""
    previous = current_group_id()
    set_group(group_id)
    try:
        yield
    finally:
        set_group(previous)


@contextmanager
def user_context(user_id: int | None) -> Iterator[None]:
    """Admit the memberships of `user_id` across groups under RLS for a block (a question
    about another login, such as whether it keeps a role elsewhere), then restore."""
    previous = _get("user_id")
    _set("user_id", user_id)
    try:
        yield
    finally:
        _set("user_id", previous)


@contextmanager
def reports_context() -> Iterator[None]:
    """Let the report jobs (worker, seed) read and write the department-level tables of
    every department for a block: the monthly fan-out, snapshot versions, DHIS2 pushes.
    Group data stays behind its own lock; this admits report tables only."""
    previous = _get("reports")
    _set("reports", "1")
    try:
        yield
    finally:
        _set("reports", previous)


@contextmanager
def lookup_context(key: str) -> Iterator[None]:
    """Admit rows found by a secret lookup key (an invitation's token hash) under RLS."""
    previous = _get("lookup")
    _set("lookup", key)
    try:
        yield
    finally:
        _set("lookup", previous)


#: Key in `Connection.info` (which belongs to the DBAPI connection) holding the settings
#: the current session transaction has sent. Present only inside a session transaction
#: under an app context: the values in force, or `None` when not known (after a rollback
#: to a savepoint).
_SENT = "harmnet_tenancy_sent"

# set_config(..., true) is transaction-local: a pooled connection never carries it over.
_SET_CONFIG = (
    "SELECT set_config('harmnet.group_id', %(group_id)s, true),"
    " set_config('harmnet.user_id', %(user_id)s, true),"
    " set_config('harmnet.lookup', %(lookup)s, true),"
    " set_config('harmnet.departments', %(departments)s, true),"
    " set_config('harmnet.platform', %(platform)s, true),"
    " set_config('harmnet.reports', %(reports)s, true)"
)


#: Savepoint statements read no rows, and a set_config sent just before ROLLBACK TO
#: SAVEPOINT would be undone by it: they never trigger a send.
_SAVEPOINT_STATEMENTS = ("SAVEPOINT ", "RELEASE SAVEPOINT ", "ROLLBACK TO SAVEPOINT ")


_EMPTY = ("",) * len(_SETTINGS)


def _wanted() -> tuple[str, ...]:
    return tuple("" if (v := _get(name)) is None else str(v) for name in _SETTINGS)


@event.listens_for(Session, "after_begin")
def _after_begin(session: Session, transaction: object, connection: Connection) -> None:
    if has_app_context() and connection.dialect.name == "postgresql":
        # A new transaction starts with every setting empty (set_config(..., true) ends
        # with the transaction that made it), so a statement under no context sends none.
        connection.info[_SENT] = _EMPTY


@event.listens_for(Engine, "before_cursor_execute")
def _sync(connection: Connection, cursor: object, statement: str, parameters: object,
          context: object, executemany: bool) -> None:
    """Send the current context before a statement whenever it differs from what this
    transaction last sent: every statement runs under the context of the moment."""
    if _SENT not in connection.info or statement.startswith(_SAVEPOINT_STATEMENTS):
        return
    wanted = _wanted()
    if connection.info[_SENT] != wanted:
        _send(connection, wanted)
        connection.info[_SENT] = wanted


def _send(connection: Connection, values: tuple[str, ...]) -> None:
    # Straight through the DBAPI connection: no SQLAlchemy events, so no recursion.
    with connection.connection.dbapi_connection.cursor() as cur:  # type: ignore[union-attr]
        cur.execute(_SET_CONFIG, dict(zip(_SETTINGS, values, strict=True)))


@event.listens_for(Engine, "rollback_savepoint")
def _savepoint_rolled_back(connection: Connection, name: str, context: object) -> None:
    # Rolling back to a savepoint also undoes the set_config calls made after it: what
    # the transaction holds is no longer known, so the next statement sends again.
    if _SENT in connection.info:
        connection.info[_SENT] = None


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _transaction_ended(connection: Connection) -> None:
    # The settings ended with the transaction; the connection may next serve non-session work.
    connection.info.pop(_SENT, None)


@event.listens_for(Session, "do_orm_execute")
def _tenant_filter(state: ORMExecuteState) -> None:
    if state.execution_options.get("skip_tenancy"):
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # the criteria below propagate to these loads from the parent query
    scoped = any(issubclass(m.class_, GroupScoped) for m in state.all_mappers)
    gid = current_group_id()
    if gid is None:
        if scoped:
            raise TenancyError("group-scoped query with no group context")
        return
    state.statement = state.statement.options(
        with_loader_criteria(GroupScoped, lambda cls: cls.group_id == gid, include_aliases=True)
    )


# --- PostgreSQL row-level security -------------------------------------------------------

GROUP_EXPR = "NULLIF(current_setting('harmnet.group_id', true), '')::bigint"
USER_EXPR = "NULLIF(current_setting('harmnet.user_id', true), '')::bigint"
LOOKUP_EXPR = "NULLIF(current_setting('harmnet.lookup', true), '')"
#: The department subtree of the current department page, as an array (NULL when none).
DEPARTMENTS_EXPR = (
    "string_to_array(NULLIF(current_setting('harmnet.departments', true), ''), ',')::bigint[]"
)
PLATFORM_EXPR = "COALESCE(current_setting('harmnet.platform', true), '') = '1'"
REPORTS_EXPR = "COALESCE(current_setting('harmnet.reports', true), '') = '1'"


def rls_statements(table: str, extra_using: str | None = None) -> list[str]:
    """SQL that turns on forced row-level security for a group-owned table."""
    using = f"group_id = {GROUP_EXPR}"
    if extra_using:
        using = f"({using}) OR ({extra_using})"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {table}_tenant ON {table} USING ({using}) "
        f"WITH CHECK (group_id = {GROUP_EXPR})",
    ]


def group_scoped_tables() -> list[str]:
    """Names of every table whose model is GroupScoped."""
    from .extensions import db

    return sorted(
        m.local_table.name
        for m in db.Model.registry.mappers
        if issubclass(m.class_, GroupScoped)
    )
