"""How a request's transaction ends (harmnet/database.py): a GET that only read commits, so
PostgreSQL keeps the statements psycopg prepared; anything that may have written anything
still rolls back, so nothing a view did not save is ever saved."""

from __future__ import annotations

import pytest
from flask import Blueprint, has_request_context
from sqlalchemy import event, select, text, update


@pytest.fixture
def txn_app(app, db, make_group):  # type: ignore[no-untyped-def]
    """The app with a test-only view that reads the group and then does `what`."""
    from harmnet.extensions import csrf
    from harmnet.models import PeerGroup

    make_group("hoa-sen", name="Hoa Sen")
    bp = Blueprint("txn_test", __name__)

    @bp.route("/__txn/<what>", methods=["GET", "POST"])
    def txn(what: str) -> str:
        group = db.session.scalar(select(PeerGroup).where(PeerGroup.slug == "hoa-sen"))
        if what in ("dirty", "flushed"):
            group.name = "Changed"
            if what == "flushed":
                db.session.flush()
        elif what == "update":
            db.session.execute(update(PeerGroup).where(PeerGroup.id == group.id)
                               .values(name="Changed"))
        elif what == "text":
            db.session.execute(text("update peer_groups set name = 'Changed'"))
        elif what == "fail":
            raise RuntimeError("the view failed")
        return group.name

    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def _ends(app, client, method: str, what: str) -> list[str]:  # type: ignore[no-untyped-def]
    """How the transactions of the request's own connection ended, in order."""
    from harmnet.extensions import db

    ends: list[str] = []
    mine: set[int] = set()  # the request's connections: not the test's own session's
    engine = db.engine

    def executed(conn, *_args):  # type: ignore[no-untyped-def]
        if has_request_context():
            mine.add(id(conn))

    def commit(conn):  # type: ignore[no-untyped-def]
        if id(conn) in mine:
            ends.append("commit")

    def rollback(conn):  # type: ignore[no-untyped-def]
        if id(conn) in mine:
            ends.append("rollback")

    listeners = (("before_cursor_execute", executed), ("commit", commit),
                 ("rollback", rollback))
    for name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        client.open(f"/__txn/{what}", method=method)
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)
    return ends


def _name(db) -> str:  # type: ignore[no-untyped-def]
    from harmnet.models import PeerGroup

    db.session.expire_all()
    return db.session.scalar(select(PeerGroup.name).where(PeerGroup.slug == "hoa-sen"))


def test_a_get_that_only_read_commits(txn_app, client, db):
    assert _ends(txn_app, client, "GET", "read") == ["commit"]
    assert _name(db) == "Hoa Sen"


@pytest.mark.parametrize("what", ["dirty", "flushed", "update", "text"])
def test_a_get_that_changed_anything_unsaved_rolls_back(txn_app, client, db, what):
    assert _ends(txn_app, client, "GET", what) == ["rollback"]
    assert _name(db) == "Hoa Sen"  # nothing the view did not commit was saved


def test_other_methods_and_failed_views_roll_back(txn_app, client, db):
    assert _ends(txn_app, client, "POST", "read") == ["rollback"]
    assert _ends(txn_app, client, "GET", "fail") == ["rollback"]
    assert _name(db) == "Hoa Sen"
