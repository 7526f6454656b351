"""A request's transaction ends with the request: whatever a view changed and did not commit
(an ORM change, a flushed one, an UPDATE, raw SQL, a failed view) is never saved."""

from __future__ import annotations

import pytest
from flask import Blueprint
from sqlalchemy import select, text, update


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


def _name(db) -> str:  # type: ignore[no-untyped-def]
    from harmnet.models import PeerGroup

    db.session.expire_all()
    return db.session.scalar(select(PeerGroup.name).where(PeerGroup.slug == "hoa-sen"))


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("what", ["read", "dirty", "flushed", "update", "text", "fail"])
def test_nothing_a_view_did_not_commit_is_saved(txn_app, client, db, method, what):
    response = client.open(f"/__txn/{what}", method=method)
    assert response.status_code == (500 if what == "fail" else 200)
    assert _name(db) == "Hoa Sen"
