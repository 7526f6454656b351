"""Trainings: plan in the group's timezone, invite, roll call on a phone, .ics, lists."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from harmnet.models import Attendance, Reminder, Training
from tests.members.conftest import audit_actions
from tests.support import in_group, login, post_form

BASE = "/g/hoa-sen/trainings"
SOON = (date.today() + timedelta(days=30)).isoformat()


def test_create_training_in_group_timezone(client, coordinator, db):
    group, _ = coordinator
    day = date.today() + timedelta(days=100)
    response = post_form(client, f"{BASE}/new", {
        "topic": "pep_prep", "title": "PrEP an toàn", "day": day.isoformat(), "at": "14:30",
        "duration_minutes": "90", "location": "Nhà văn hoá phường", "facilitator": "BS. Hạnh",
        "capacity": "20",
    })
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    with in_group(group.id):
        training = db.session.scalar(select(Training))
        training_id = training.id
        # 14:30 in Hanoi (UTC+7) is 07:30 UTC.
        assert training.starts_at == datetime(day.year, day.month, day.day, 7, 30, tzinfo=UTC)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    # The group's time, short: no seconds, no GMT offset (#20).
    assert "PrEP an toàn" in page and "14:30" in page
    assert "14:30:00" not in page and "GMT" not in page
    edit = client.get(f"{BASE}/{training_id}/edit").get_data(as_text=True)
    assert 'value="14:30"' in edit and f'value="{day.isoformat()}"' in edit


def test_bad_training_input_changes_nothing(client, coordinator, db):
    group, _ = coordinator
    cases = [
        {"day": "1999-12-31"}, {"day": "2100-01-01"}, {"day": "31/31/2024"}, {"at": "25:00"},
        {"duration_minutes": "0"}, {"duration_minutes": "100000"}, {"duration_minutes": "-5"},
        {"capacity": "-1"}, {"capacity": "0"}, {"topic": "drugs"}, {"title": ""},
        {"capacity": "99999999999999999999"},
    ]
    for bad in cases:
        data = {"topic": "first_aid", "title": "Sơ cứu", "day": SOON, "at": "09:00",
                "duration_minutes": "60", "capacity": ""} | bad
        response = post_form(client, f"{BASE}/new", data)
        assert response.status_code == 400, bad
        assert 'class="error"' in response.get_data(as_text=True), bad
    with in_group(group.id):
        assert db.session.scalar(select(Training)) is None


def test_invite_by_role_and_status_respects_capacity(client, coordinator, db, add_member,
                                                     add_training):
    group, _ = coordinator
    peers = [add_member(group, f"ĐĐV {i}", role_in_group="peer_educator") for i in range(3)]
    add_member(group, "Nghỉ", role_in_group="peer_educator", status="left")
    add_member(group, "TNV", role_in_group="volunteer")
    tid = add_training(group, capacity=3)
    url = f"{BASE}/{tid}/invite/group"
    page = f"{BASE}/{tid}/invite"
    response = post_form(client, url, {"roles": ["peer_educator"], "statuses": ["active"]},
                         page=page)
    assert response.status_code == 302
    with in_group(group.id):
        invited = set(db.session.scalars(select(Attendance.member_id)))
    assert invited == set(peers)
    # One more would exceed the 3 places: refused as a whole, with the numbers.
    response = post_form(client, url, {"roles": ["volunteer"], "statuses": ["active"]},
                         page=page)
    assert response.status_code == 400
    assert "3 places, 3 already invited, 1 more chosen" in response.get_data(as_text=True)
    with in_group(group.id):
        assert len(db.session.scalars(select(Attendance)).all()) == 3
    # Nothing chosen is a clear message, not an error page.
    response = post_form(client, url, {"statuses": ["active"]}, page=page)
    assert response.status_code == 400


def test_pick_members_and_refuse_another_groups_member(client, coordinator, db, add_member,
                                                       add_training, make_group):
    group, _ = coordinator
    mine = add_member(group, "Hoa")
    other_group = make_group("song-hong")
    theirs = add_member(other_group, "Người nhóm khác")
    tid = add_training(group)
    page = f"{BASE}/{tid}/invite"
    response = post_form(client, f"{BASE}/{tid}/invite/pick", {"member_id": [mine, theirs]},
                         page=page)
    assert response.status_code == 400
    assert "not in this group" in response.get_data(as_text=True)
    response = post_form(client, f"{BASE}/{tid}/invite/pick", {"member_id": ["x"]}, page=page)
    assert response.status_code == 400
    with in_group(group.id):
        assert db.session.scalar(select(Attendance)) is None
    assert post_form(client, f"{BASE}/{tid}/invite/pick", {"member_id": [mine]},
                     page=page).status_code == 302
    # Withdrawing an invitation before roll call.
    response = post_form(client, f"{BASE}/{tid}/uninvite/{mine}", page=f"{BASE}/{tid}")
    assert response.status_code == 200  # asks first
    assert "Yes, withdraw the invitation" in response.get_data(as_text=True)
    with in_group(group.id):
        assert db.session.scalar(select(Attendance)) is not None
    response = post_form(client, f"{BASE}/{tid}/uninvite/{mine}", {"confirmed": "yes"},
                         page=f"{BASE}/{tid}")
    assert response.status_code == 302
    with in_group(group.id):
        assert db.session.scalar(select(Attendance)) is None


def test_roll_call_for_60_members_is_one_form_and_safe_to_retry(client, coordinator, db,
                                                                add_member, add_training,
                                                                invite_to):
    group, _ = coordinator
    ids = [add_member(group, f"Thành viên {i:02d}") for i in range(60)]
    tid = add_training(group, days=-0.01, duration_minutes=180)
    invite_to(group, tid, ids)
    page = client.get(f"{BASE}/{tid}/roll-call")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count('type="radio"') == 180  # three taps to choose from, per member
    assert len(html.encode()) < 60_000
    marks = {f"m-{mid}": ("attended" if i % 3 else "absent") for i, mid in enumerate(ids[:50])}
    marks[f"m-{ids[50]}"] = "excused"
    first = post_form(client, f"{BASE}/{tid}/roll-call", marks)
    assert first.status_code == 302
    again = post_form(client, f"{BASE}/{tid}/roll-call", marks)  # a retry after a timeout
    assert again.status_code == 302
    with in_group(group.id):
        statuses = dict(db.session.execute(select(Attendance.member_id, Attendance.status)).all())
        training = db.session.get(Training, tid)
        db.session.refresh(training)
    assert statuses[ids[1]] == "attended" and statuses[ids[0]] == "absent"
    assert statuses[ids[50]] == "excused" and statuses[ids[59]] == "invited"
    assert training.status == "held"
    roll_calls = [a for a in audit_actions(db) if a[0] == "training.roll_call"]
    assert len(roll_calls) == 1  # the retry changed nothing, so nothing new to record


def test_roll_call_refuses_strangers_and_bad_marks(client, coordinator, db, add_member,
                                                   add_training, invite_to, make_group):
    group, _ = coordinator
    mine = add_member(group, "Hoa")
    stranger = add_member(make_group("song-hong"), "Khác")
    tid = add_training(group, days=-0.01)
    invite_to(group, tid, [mine])
    for marks in ({f"m-{mine}": "attended", f"m-{stranger}": "attended"},
                  {f"m-{mine}": "present"}, {"m-abc": "attended"}):
        response = post_form(client, f"{BASE}/{tid}/roll-call", marks)
        assert response.status_code == 400, marks
    with in_group(group.id):
        assert db.session.scalar(select(Attendance.status)) == "invited"
    future = add_training(group, days=3)
    invite_to(group, future, [mine])
    response = post_form(client, f"{BASE}/{future}/roll-call", {f"m-{mine}": "attended"})
    assert response.status_code == 400 and "opens on the day" in response.get_data(as_text=True)


def test_cancel_stops_pending_reminders_and_keeps_history(client, coordinator, db, add_member,
                                                          add_training, invite_to):
    group, _ = coordinator
    mid = add_member(group, "Hoa", phone="0912345678", reminder_consent=True)
    tid = add_training(group)
    invite_to(group, tid, [mid])
    with in_group(group.id):
        attendance = db.session.scalar(select(Attendance))
        db.session.add(Reminder(group_id=group.id, attendance_id=attendance.id,
                                send_at=datetime.now(UTC) + timedelta(days=1), channel="outbox",
                                idempotency_key=f"att:{attendance.id}:24h"))
        db.session.commit()
    asked = post_form(client, f"{BASE}/{tid}/cancel", page=f"{BASE}/{tid}")
    assert asked.status_code == 200 and "Yes, cancel the training" in asked.get_data(as_text=True)
    with in_group(group.id):
        assert db.session.scalar(select(Reminder.status)) == "pending"
    assert post_form(client, f"{BASE}/{tid}/cancel", {"confirmed": "yes"},
                     page=f"{BASE}/{tid}").status_code == 302
    with in_group(group.id):
        assert db.session.scalar(select(Reminder.status)) == "cancelled"
        assert db.session.scalar(select(Attendance.status)) == "invited"
    page = client.get(f"/g/hoa-sen/members/{mid}").get_data(as_text=True)
    assert "Cancelled" in page
    assert client.get(f"{BASE}/{tid}/edit").status_code == 302


def test_upcoming_and_past_lists(client, coordinator, add_training):
    group, _ = coordinator
    add_training(group, days=5, title="Sắp tới")
    add_training(group, days=-40, title="Đã qua")
    upcoming = client.get(f"{BASE}/").get_data(as_text=True)
    past = client.get(f"{BASE}/?when=past").get_data(as_text=True)
    assert "Sắp tới" in upcoming and "Đã qua" not in upcoming
    assert "Đã qua" in past and "Sắp tới" not in past


def test_ics_file(client, coordinator, add_training):
    group, _ = coordinator
    tid = add_training(group, title="Kỹ năng tư vấn, buổi 1; nâng cao", location="Phòng 2",
                       topic="counselling_skills")
    response = client.get(f"{BASE}/{tid}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    body = response.get_data(as_text=True)
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert "SUMMARY:Kỹ năng tư vấn\\, buổi 1\\; nâng cao" in body.replace("\r\n ", "")
    assert f"UID:training-{group.id}-{tid}@" in body
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))


def test_peer_educator_sees_upcoming_trainings_and_own_attendance_only(
        app, db, coordinator, make_user, add_member, add_training, invite_to):
    from harmnet.models import GroupMembership

    group, _ = coordinator
    me = add_member(group, "Mai", phone="0911222333")
    other = add_member(group, "Ngọc Bích", phone="0944555666")
    peer = make_user("peer-mai", group=group, role="peer_educator")
    with in_group(group.id):
        membership = db.session.scalar(select(GroupMembership).where(
            GroupMembership.user_id == peer.id))
        membership.member_id = me
        db.session.commit()
    tid = add_training(group, title="Sơ cứu cơ bản", topic="first_aid")
    invite_to(group, tid, [me, other])
    peer_client = app.test_client()
    login(peer_client, "peer-mai")
    listing = peer_client.get(f"{BASE}/").get_data(as_text=True)
    assert "Sơ cứu cơ bản" in listing and "My trainings" in listing
    page = peer_client.get(f"{BASE}/{tid}").get_data(as_text=True)
    assert "Invited" in page
    assert "Ngọc Bích" not in page and "0944555666" not in page and "0911222333" not in page
    assert peer_client.get(f"{BASE}/{tid}.ics").status_code == 200
