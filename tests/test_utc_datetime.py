"""Timestamps come back from the database timezone-aware, on SQLite as on PostgreSQL.

Found by the browser suite: on SQLite an invitation link opened in a later request failed with
a 500, because `expires_at` came back naive and could not be compared with `utcnow()`.
"""

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select

from harmnet.models._types import utcnow


def test_a_stored_timestamp_is_read_back_aware_and_in_utc(db, make_group):
    from harmnet.models import Invitation
    from harmnet.services import accounts
    from tests.support import in_group

    group = make_group()
    with in_group(group.id):
        created = accounts.invite(group.id, "peer_educator", "Hồng", invited_by=None)
        hanoi = timezone(timedelta(hours=7))
        created.invitation.expires_at = datetime(2030, 1, 2, 9, 0, tzinfo=hanoi)
        db.session.commit()
        db.session.expire_all()
        stored = db.session.scalar(select(Invitation.expires_at))
    assert stored == datetime(2030, 1, 2, 2, 0, tzinfo=UTC)
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored > utcnow()  # comparable with an aware "now": no TypeError


def test_an_invitation_link_opened_in_a_later_request_works(client, make_group, make_user):
    from tests.support import login, post_form

    group = make_group("hoa-sen")
    coordinator = make_user("coord", group=group, role="coordinator")
    login(client, coordinator.login)
    page = post_form(client, "/g/hoa-sen/logins/invite",
                     {"label": "Hồng", "role": "peer_educator"})
    assert page.status_code == 200
    link = page.get_data(as_text=True).split('id="link" class="link-box" readonly value="')[1]
    path = link.split('"')[0].split("://", 1)[1].split("/", 1)[1]
    client.post("/logout", data={})
    assert client.get("/" + path).status_code == 200
