"""Engine tuning per backend, and how a request's transaction ends."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

if TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy


def configure_engine(engine: Engine) -> None:
    """SQLite: WAL and a busy timeout, because the web and the worker write at once."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()


# --- how a read-only request ends -----------------------------------------------------------

#: In `Connection.info` while the transaction has sent anything but a SELECT.
_WROTE = "harmnet_wrote"


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(connection: Connection, cursor: object, statement: str, parameters: object,
                 context: object, executemany: bool) -> None:
    # Our SELECTs all start so (SQLAlchemy writes them); anything else, a lower-case text
    # select included, counts as a write, which only ever means the safe ROLLBACK below.
    if not statement.startswith("SELECT"):
        connection.info[_WROTE] = True


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _transaction_ended(connection: Connection) -> None:
    connection.info.pop(_WROTE, None)


#: In `Session.info`: the connection the session's transaction holds, once it holds one.
_CONNECTION = "harmnet_connection"


@event.listens_for(Session, "after_begin")
def _began(session: Session, transaction: object, connection: Connection) -> None:
    session.info[_CONNECTION] = connection


@event.listens_for(Session, "after_transaction_end")
def _session_transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_CONNECTION, None)


def install_request_transactions(app: Flask, db: SQLAlchemy) -> None:
    """A GET that only read ends its transaction with COMMIT instead of ROLLBACK.

    psycopg forgets the statements it prepared, and how often it saw each, at every
    ROLLBACK; ending each request so meant PostgreSQL parsed and planned every query of
    every page again (~2-3 ms of its CPU on the follow-ups page of the 10M database).
    To the database, committing a transaction that only read is the same as rolling it
    back. Anything else still rolls back, as before: another method, an error, a
    statement that was not a SELECT, or objects changed in the session and not saved."""

    @app.teardown_request
    def _end_read_only_transaction(exc: BaseException | None) -> None:
        # Runs before Flask-SQLAlchemy's teardown, which closes the session (ROLLBACK).
        if exc is not None or request.method not in ("GET", "HEAD"):
            return
        if not db.session.registry.has():
            return
        session = db.session()
        connection = session.info.get(_CONNECTION)  # None: no SQL, nothing to end
        if connection is None or connection.info.get(_WROTE):
            return
        if session.new or session.dirty or session.deleted:
            return
        try:
            session.commit()
        except SQLAlchemyError:  # a broken connection: the usual close() cleans up
            session.rollback()
