"""The contact list pages by keyset ("older" / "newer" links): no count of the group's
history, every contact reachable once, a bad link shows the newest page, and another
group's list stays out of reach."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from harmnet.models import Contact
from tests.support import in_group, login


def _contacts(db, group, user, n: int) -> None:  # type: ignore[no-untyped-def]
    with in_group(group.id):
        for i in range(n):
            # Three contacts a day: ties on the date are broken by the id.
            db.session.add(Contact(group_id=group.id, occurred_on=date(2026, 1, 1)
                                   + timedelta(days=i // 3), channel="zalo",
                                   peer_educator_id=user.id, idempotency_key=f"k{i}"))
        db.session.commit()


def _ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'/contacts/(\d+)"', html)]


def _link(html: str, label: str) -> str | None:
    match = re.search(r'<a href="([^"]+)" rel="(?:prev|next)">[^<]*' + label, html)
    return match.group(1).replace("&amp;", "&") if match else None


def test_older_and_newer_links_walk_every_contact_once(client, db, make_group, make_user):
    group = make_group()
    coord = make_user("coord", group=group, role="coordinator")
    _contacts(db, group, coord, 60)
    login(client, "coord")
    first = client.get(f"/g/{group.slug}/contacts/").get_data(as_text=True)
    assert "contacts</p>" not in first  # no count of the history
    seen = _ids(first)
    assert len(seen) == 25 and _link(first, "Newer") is None
    html = first
    while (older := _link(html, "Older")) is not None:
        html = client.get(older).get_data(as_text=True)
        seen += _ids(html)
    assert sorted(seen, reverse=True) == seen and len(set(seen)) == 60
    # Back up from the last page: the previous page again, exactly.
    newer = _link(html, "Newer")
    assert newer is not None
    assert _ids(client.get(newer).get_data(as_text=True)) == seen[25:50]


def test_filters_are_kept_across_pages(client, db, make_group, make_user):
    group = make_group()
    coord = make_user("coord", group=group, role="coordinator")
    _contacts(db, group, coord, 40)
    login(client, "coord")
    html = client.get(f"/g/{group.slug}/contacts/?date_to=2026-01-12").get_data(as_text=True)
    older = _link(html, "Older")
    assert older is not None and "date_to=2026-01-12" in older
    rest = client.get(older).get_data(as_text=True)
    assert len(_ids(html)) + len(_ids(rest)) == 36  # twelve days, three a day


def test_a_malformed_cursor_shows_the_newest_page(client, db, make_group, make_user):
    group = make_group()
    coord = make_user("coord", group=group, role="coordinator")
    _contacts(db, group, coord, 30)
    login(client, "coord")
    newest = _ids(client.get(f"/g/{group.slug}/contacts/").get_data(as_text=True))
    for bad in ("x", "2026-13-01_5", "2026-01-01_", "_7", "2026-01-01T10:00_3", "9" * 80):
        for name in ("before", "after"):
            response = client.get(f"/g/{group.slug}/contacts/?{name}={bad}")
            assert response.status_code == 200
            assert _ids(response.get_data(as_text=True)) == newest


def test_a_cursor_cannot_reach_another_groups_contacts(client, db, two_groups):
    a, b, users = two_groups
    _contacts(db, a, users["a_coord"], 30)
    _contacts(db, b, users["b_coord"], 30)
    with in_group(b.id):
        b_ids = set(db.session.scalars(select(Contact.id)))
    login(client, "a-coord")
    assert client.get(f"/g/{b.slug}/contacts/?before=2030-01-01_999999").status_code == 404
    html = client.get(f"/g/{a.slug}/contacts/?before=2030-01-01_999999").get_data(as_text=True)
    assert _ids(html) and not set(_ids(html)) & b_ids


def test_a_peer_educator_pages_through_their_own_contacts_only(client, db, make_group,
                                                              make_user):
    group = make_group()
    coord = make_user("coord", group=group, role="coordinator")
    peer = make_user("peer", group=group, role="peer_educator")
    _contacts(db, group, coord, 30)
    with in_group(group.id):
        for i in range(30):
            db.session.add(Contact(group_id=group.id, occurred_on=date(2026, 3, 1),
                                   channel="zalo", peer_educator_id=peer.id,
                                   idempotency_key=f"p{i}"))
        db.session.commit()
        mine = set(db.session.scalars(select(Contact.id).where(
            Contact.peer_educator_id == peer.id)))
    login(client, "peer")
    html = client.get(f"/g/{group.slug}/contacts/").get_data(as_text=True)
    seen = _ids(html) + _ids(client.get(_link(html, "Older")).get_data(as_text=True))
    assert set(seen) == mine
