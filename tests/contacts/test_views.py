"""Lists, detail, edit and delete: who sees and changes what, inside and across groups."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from harmnet.models import AuditEvent, Contact
from harmnet.models._types import utcnow
from harmnet.services.contacts import ReferralInput
from tests.contacts.conftest import make_contact
from tests.support import csrf_from, in_group, login


@pytest.fixture
def world(group_setup):  # type: ignore[no-untyped-def]
    a, b, users, made = group_setup
    ids = {
        "a_mine": make_contact(a.id, users["a_peer"].id, channel="zalo",
                               referrals=[ReferralInput("hiv_test", made["group-a"][0])]),
        "a_other": make_contact(a.id, users["a_peer2"].id, channel="phone", code="HOBIF1980"),
        "a_session": make_contact(a.id, users["a_peer"].id, channel="group_session",
                                  participants_count=8),
        "b_theirs": make_contact(b.id, users["b_peer"].id, channel="messenger",
                                 referrals=[ReferralInput("pep", made["group-b"][0])]),
    }
    return a, b, users, made, ids


def _csrf(client, path="/g/group-a/contacts/new"):  # type: ignore[no-untyped-def]
    return csrf_from(client.get(path).get_data(as_text=True))


def test_peer_sees_only_their_own_contacts(client, world):
    _a, _b, _users, _made, ids = world
    login(client, "a-peer")
    html = client.get("/g/group-a/contacts/").get_data(as_text=True)
    assert f"/contacts/{ids['a_mine']}\"" in html and f"/contacts/{ids['a_session']}\"" in html
    assert f"/contacts/{ids['a_other']}\"" not in html
    assert client.get(f"/g/group-a/contacts/{ids['a_mine']}").status_code == 200
    assert client.get(f"/g/group-a/contacts/{ids['a_other']}").status_code == 404
    assert client.get(f"/g/group-a/contacts/{ids['a_other']}/edit").status_code == 404
    # A peer's filter cannot ask for someone else's contacts.
    other = _users_id(world, "a_peer2")
    html = client.get(f"/g/group-a/contacts/?peer={other}").get_data(as_text=True)
    assert f"/contacts/{ids['a_other']}\"" not in html


def _users_id(world, name):  # type: ignore[no-untyped-def]
    return world[2][name].id


def test_coordinator_sees_all_and_filters(client, world):
    _a, _b, users, _made, ids = world
    login(client, "a-coord")
    html = client.get("/g/group-a/contacts/").get_data(as_text=True)
    for key in ("a_mine", "a_other", "a_session"):
        assert f"/contacts/{ids[key]}\"" in html
    assert f"/contacts/{ids['b_theirs']}\"" not in html
    by_peer = client.get(f"/g/group-a/contacts/?peer={users['a_peer2'].id}").get_data(
        as_text=True)
    assert f"/contacts/{ids['a_other']}\"" in by_peer
    assert f"/contacts/{ids['a_mine']}\"" not in by_peer
    by_channel = client.get("/g/group-a/contacts/?channel=zalo").get_data(as_text=True)
    assert f"/contacts/{ids['a_mine']}\"" in by_channel
    assert f"/contacts/{ids['a_other']}\"" not in by_channel
    by_service = client.get("/g/group-a/contacts/?service=hiv_test").get_data(as_text=True)
    assert f"/contacts/{ids['a_mine']}\"" in by_service
    assert f"/contacts/{ids['a_session']}\"" not in by_service
    by_item = client.get("/g/group-a/contacts/?service=condoms").get_data(as_text=True)
    assert "No contact matches these filters." in by_item
    future = client.get("/g/group-a/contacts/?date_from=2099-01-01").get_data(as_text=True)
    assert "No contact matches these filters." in future
    bad = client.get("/g/group-a/contacts/?date_from=yesterday&channel=fax")
    assert bad.status_code == 400 and "Please enter a date" in bad.get_data(as_text=True)


def test_cross_group_ids_are_404(client, world):
    _a, _b, _users, made, ids = world
    login(client, "a-coord")
    token = _csrf(client)
    theirs = ids["b_theirs"]
    for path in (f"/g/group-a/contacts/{theirs}", f"/g/group-a/contacts/{theirs}/edit",
                 f"/g/group-a/contacts/{theirs}/delete", "/g/group-a/contacts/referrals/2",
                 f"/g/group-a/providers/{made['group-b'][0]}/edit",
                 "/g/group-b/contacts/", "/g/group-b/contacts/new",
                 "/g/group-b/contacts/follow-ups", "/g/group-b/contacts/cascade",
                 "/g/group-b/providers/"):
        assert client.get(path).status_code == 404, path
    for path in (f"/g/group-a/contacts/{theirs}/delete", "/g/group-a/contacts/referrals/2",
                 "/g/group-a/contacts/referrals/2/appointment",
                 f"/g/group-a/providers/{made['group-b'][0]}/edit"):
        assert client.post(path, data={"csrf_token": token, "reason": "mistake",
                                       "status": "lost", "name": "X"}).status_code == 404, path


def test_peer_gets_403_on_coordinator_pages(client, world):
    _a, _b, _users, made, _ids = world
    login(client, "a-peer")
    token = _csrf(client)
    assert client.get("/g/group-a/contacts/cascade").status_code == 403
    assert client.get("/g/group-a/providers/new").status_code == 403
    assert client.get(f"/g/group-a/providers/{made['group-a'][0]}/edit").status_code == 403
    assert client.post("/g/group-a/providers/new",
                       data={"csrf_token": token, "name": "X"}).status_code == 403
    # The directory itself is readable by everyone in the group.
    page = client.get("/g/group-a/providers/")
    assert page.status_code == 200 and "Clinic group-a" in page.get_data(as_text=True)
    assert "Clinic group-b" not in page.get_data(as_text=True)


def test_peer_edits_own_contact_within_seven_days(client, db, world):
    a, _b, _users, _made, ids = world
    login(client, "a-peer")
    page = client.get(f"/g/group-a/contacts/{ids['a_mine']}/edit")
    assert page.status_code == 200
    response = client.post(f"/g/group-a/contacts/{ids['a_mine']}/edit", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "occurred_on": page.get_data(as_text=True).split('name="occurred_on" type="date" '
                                                          'value="')[1][:10],
        "channel": "messenger", "condoms": "4", "leaflets": "2", "notes": "follow up soon",
    })
    assert response.status_code == 302
    with in_group(a.id):
        contact = db.session.get(Contact, ids["a_mine"])
        assert (contact.channel, contact.condoms, contact.leaflets) == ("messenger", 4, 2)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contact.edited"))
        assert event.object_id == ids["a_mine"]
        assert "follow up" not in str(event.detail)  # field names, never values
        assert "notes" in event.detail["fields"]
        # Eight days later the peer educator may no longer edit; the coordinator still may.
        db.session.execute(update(Contact).where(Contact.id == ids["a_mine"]).values(
            created_at=utcnow() - timedelta(days=8)))
        db.session.commit()
    assert client.get(f"/g/group-a/contacts/{ids['a_mine']}/edit").status_code == 403
    assert "/edit" not in client.get(f"/g/group-a/contacts/{ids['a_mine']}").get_data(
        as_text=True)
    client.post("/logout", data={"csrf_token": _csrf(client)})
    login(client, "a-coord")
    assert client.get(f"/g/group-a/contacts/{ids['a_mine']}/edit").status_code == 200


def test_edit_refuses_bad_values_and_kind_change(client, db, world):
    a, _b, _users, _made, ids = world
    login(client, "a-peer")
    token = _csrf(client)
    response = client.post(f"/g/group-a/contacts/{ids['a_mine']}/edit", data={
        "csrf_token": token, "occurred_on": "2099-01-01", "channel": "group_session",
        "condoms": "-3", "notes": "n" * 600})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    for message in ("The date cannot be after tomorrow.", "cannot become an individual",
                    "A count cannot be negative.", "at most 500 characters"):
        assert message in html
    session = client.post(f"/g/group-a/contacts/{ids['a_session']}/edit", data={
        "csrf_token": token, "occurred_on": "2024-01-01", "channel": "group_session",
        "participants": "0"})
    assert session.status_code == 400
    with in_group(a.id):
        assert db.session.get(Contact, ids["a_session"]).participants_count == 8


def test_soft_delete_needs_a_reason_and_is_audited(client, db, world):
    a, _b, _users, _made, ids = world
    login(client, "a-peer")
    page = client.get(f"/g/group-a/contacts/{ids['a_mine']}/delete")
    token = csrf_from(page.get_data(as_text=True))
    no_reason = client.post(f"/g/group-a/contacts/{ids['a_mine']}/delete",
                            data={"csrf_token": token})
    assert no_reason.status_code == 400 and "Choose a reason." in no_reason.get_data(
        as_text=True)
    done = client.post(f"/g/group-a/contacts/{ids['a_mine']}/delete",
                       data={"csrf_token": token, "reason": "duplicate"})
    assert done.status_code == 302
    assert client.get(f"/g/group-a/contacts/{ids['a_mine']}").status_code == 404
    assert f"/contacts/{ids['a_mine']}\"" not in client.get("/g/group-a/contacts/").get_data(
        as_text=True)
    with in_group(a.id):
        contact = db.session.get(Contact, ids["a_mine"])
        assert contact.deleted_at is not None and contact.delete_reason == "duplicate"
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "contact.deleted"))
        assert event.detail == {"reason": "duplicate"}
    # Someone else's contact cannot be deleted by a peer educator.
    assert client.post(f"/g/group-a/contacts/{ids['a_other']}/delete",
                       data={"csrf_token": token, "reason": "mistake"}).status_code == 404
