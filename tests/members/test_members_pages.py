"""Coordinators manage members: list, search, filters, create, edit, status, phone, login link."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, text

from harmnet.models import Member
from tests.members.conftest import audit_actions
from tests.support import in_group, post_form

BASE = "/g/hoa-sen/members"


def test_list_searches_and_filters_by_role_and_status(client, coordinator, add_member):
    group, _ = coordinator
    add_member(group, "Hoa Mai", role_in_group="peer_educator")
    add_member(group, "Lan Anh", role_in_group="volunteer")
    add_member(group, "Hoa Cúc", role_in_group="club_member", status="paused")
    page = client.get(f"{BASE}/?q=hoa").get_data(as_text=True)
    assert "Hoa Mai" in page and "Hoa Cúc" in page and "Lan Anh" not in page
    page = client.get(f"{BASE}/?role=volunteer").get_data(as_text=True)
    assert "Lan Anh" in page and "Hoa Mai" not in page
    page = client.get(f"{BASE}/?status=paused").get_data(as_text=True)
    assert "Hoa Cúc" in page and "Hoa Mai" not in page
    # A search with SQL wildcards finds nothing rather than everything.
    page = client.get(f"{BASE}/?q=%25").get_data(as_text=True)
    assert "Hoa Mai" not in page


def test_list_paginates(client, coordinator, add_member, app):
    group, _ = coordinator
    for i in range(30):
        add_member(group, f"Thành viên {i:02d}")
    first = client.get(f"{BASE}/").get_data(as_text=True)
    assert "Thành viên 00" in first and "Thành viên 29" not in first
    second = client.get(f"{BASE}/?page=2").get_data(as_text=True)
    assert "Thành viên 29" in second
    assert client.get(f"{BASE}/?page=999").status_code == 200


def test_create_member_on_a_phone_and_phone_is_encrypted(client, coordinator, db, database):
    group, _ = coordinator
    response = post_form(client, f"{BASE}/new", {
        "alias": "Hồng Nhung", "role_in_group": "peer_educator", "status": "active",
        "joined_on": "2024-03-01", "gender": "F", "birth_year": "1996",
        "phone": "0912 345 678", "reminder_consent": "y", "notes": "",
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    with in_group(group.id):
        member = db.session.scalar(select(Member))
        member_id = member.id
        assert member.phone == "0912345678"
        assert member.reminder_consent is True
    # The database holds ciphertext only.
    with database.owner_engine.connect() as conn:
        raw = conn.execute(text("SELECT phone FROM members")).scalar()
    assert raw and "0912345678" not in raw and raw.startswith("gAAAA")
    # The profile shows the phone masked; the list not at all.
    profile = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "0912345678" not in profile and "••••••••78" in profile
    assert "78" not in client.get(f"{BASE}/").get_data(as_text=True).split("Hồng Nhung")[1][:80]
    assert ("member.created", member_id, {}) in audit_actions(db)


def test_bad_member_input_rerenders_with_messages(client, coordinator, db):
    group, _ = coordinator
    response = post_form(client, f"{BASE}/new", {
        "alias": "", "role_in_group": "boss", "status": "active", "joined_on": "2999-01-01",
        "birth_year": "20000", "phone": "abc", "reminder_consent": "y",
    })
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Please fill in this field." in page
    assert "Please choose one of the options." in page
    assert "Please enter a phone number" in page
    with in_group(group.id):
        assert db.session.scalar(select(Member)) is None


def test_edit_keeps_phone_unless_changed_and_audits_field_names(client, coordinator, db,
                                                                add_member):
    group, _ = coordinator
    member_id = add_member(group, "Thu", phone="0987654321", reminder_consent=True)
    form_page = client.get(f"{BASE}/{member_id}/edit").get_data(as_text=True)
    assert "0987654321" not in form_page  # the edit form never shows the phone
    response = post_form(client, f"{BASE}/{member_id}/edit", {
        "alias": "Thu Hà", "role_in_group": "volunteer", "joined_on": "", "gender": "",
        "birth_year": "", "phone": "", "reminder_consent": "y", "notes": "Gặp thứ Ba",
    })
    assert response.status_code == 302
    with in_group(group.id):
        member = db.session.get(Member, member_id)
        db.session.refresh(member)
        assert member.alias == "Thu Hà" and member.phone == "0987654321"
        assert member.reminder_consent is True
    updated = [a for a in audit_actions(db) if a[0] == "member.updated"]
    assert updated == [("member.updated", member_id,
                        {"fields": ["alias", "notes", "role_in_group"]})]
    # Removing the phone withdraws the reminder consent too.
    post_form(client, f"{BASE}/{member_id}/edit", {
        "alias": "Thu Hà", "role_in_group": "volunteer", "remove_phone": "y", "notes": "",
    }, page=f"{BASE}/{member_id}/edit")
    with in_group(group.id):
        member = db.session.get(Member, member_id)
        db.session.refresh(member)
        assert member.phone is None and member.reminder_consent is False


def test_status_changes_keep_their_dates(client, coordinator, db, add_member):
    group, _ = coordinator
    member_id = add_member(group, "Ngọc", joined_on=date(2023, 1, 10))
    url = f"{BASE}/{member_id}/status"
    page = f"{BASE}/{member_id}"
    assert post_form(client, url, {"status": "paused", "on": "2024-02-01"},
                     page=page).status_code == 302
    assert post_form(client, url, {"status": "left", "on": "2024-06-01"},
                     page=page).status_code == 302
    with in_group(group.id):
        member = db.session.get(Member, member_id)
        db.session.refresh(member)
        assert (member.status, member.paused_on, member.left_on) == (
            "left", date(2024, 2, 1), date(2024, 6, 1))
    # A date before joining, or in the future, is refused and changes nothing.
    bad = post_form(client, url, {"status": "active", "on": "2022-01-01"}, page=page)
    assert bad.status_code == 400 and "before the member joined" in bad.get_data(as_text=True)
    future = (date.today() + timedelta(days=3)).isoformat()
    assert post_form(client, url, {"status": "active", "on": future}, page=page).status_code == 400
    assert post_form(client, url, {"status": "active", "on": date.today().isoformat()},
                     page=page).status_code == 302
    with in_group(group.id):
        member = db.session.get(Member, member_id)
        db.session.refresh(member)
        assert (member.status, member.left_on, member.joined_on) == (
            "active", None, date(2023, 1, 10))
    changes = [a[2] for a in audit_actions(db) if a[0] == "member.status_changed"]
    assert changes == [{"old": "active", "new": "paused"}, {"old": "paused", "new": "left"},
                       {"old": "left", "new": "active"}]


def test_show_phone_is_a_post_and_is_audited(client, coordinator, db, add_member):
    group, user = coordinator
    member_id = add_member(group, "Mai", phone="+84 912 000 111")
    assert "+84912000111" not in client.get(f"{BASE}/{member_id}").get_data(as_text=True)
    response = post_form(client, f"{BASE}/{member_id}/phone", page=f"{BASE}/{member_id}")
    assert response.status_code == 200
    assert "+84912000111" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert ("member.phone_shown", member_id, {}) in audit_actions(db)
    # The phone never appears in the audit trail itself.
    assert "912000111" not in str(audit_actions(db))


def test_invitation_from_member_page_links_the_new_login(client, coordinator, db, add_member,
                                                          app):
    from harmnet.models import GroupMembership
    from tests.support import PASSWORD

    group, _ = coordinator
    member_id = add_member(group, "Mai")
    response = post_form(client, f"{BASE}/{member_id}/invite", {"role": "peer_educator"},
                         page=f"{BASE}/{member_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    link = page.split('readonly value="')[1].split('"')[0]
    path = link.split("localhost", 1)[1]
    # The invited person accepts in their own browser.
    other = app.test_client()
    accept = post_form(other, path, {"login": "mai-dd", "display_name": "Mai",
                                     "password": PASSWORD, "confirm": PASSWORD,
                                     "locale": "vi"})
    assert accept.status_code == 302, accept.get_data(as_text=True)[:2000]
    with in_group(group.id):
        membership = db.session.scalar(
            select(GroupMembership).where(GroupMembership.member_id == member_id))
        assert membership is not None and membership.role == "peer_educator"
    profile = client.get(f"{BASE}/{member_id}").get_data(as_text=True)
    assert "mai-dd" in profile
