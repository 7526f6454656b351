"""The contact list counts a big group's history only up to a cap, and says so."""

from __future__ import annotations

from datetime import date

from harmnet.models import Contact
from harmnet.services import contacts as service
from tests.support import in_group, login


def test_list_count_stops_at_the_cap_and_says_there_are_more(client, db, make_group, make_user,
                                                            monkeypatch):
    group = make_group()
    coord = make_user("coord", group=group, role="coordinator")
    with in_group(group.id):
        for i in range(5):
            db.session.add(Contact(group_id=group.id, occurred_on=date(2026, 1, 1 + i),
                                   channel="zalo", peer_educator_id=coord.id,
                                   idempotency_key=f"k{i}"))
        db.session.commit()
    login(client, "coord")
    page = client.get(f"/g/{group.slug}/contacts/").get_data(as_text=True)
    assert "5 contacts" in page
    monkeypatch.setattr(service, "COUNT_CAP", 3)
    page = client.get(f"/g/{group.slug}/contacts/").get_data(as_text=True)
    assert "More than 3 contacts" in page
