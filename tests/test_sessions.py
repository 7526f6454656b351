"""Server-side sessions: signing out ends the session everywhere, limits, the device list."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from harmnet.models import UserSession
from harmnet.models._types import utcnow
from tests.support import csrf_from, login, post_form


def _session_rows(db, user_id: int) -> list[UserSession]:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return list(db.session.scalars(select(UserSession).where(UserSession.user_id == user_id)
                                   .order_by(UserSession.id)))


def _age(db, user_id: int, **columns: timedelta) -> None:  # type: ignore[no-untyped-def]
    """Move a user's sessions into the past, as if time had passed."""
    values = {name: utcnow() - delta for name, delta in columns.items()}
    db.session.execute(update(UserSession).where(UserSession.user_id == user_id).values(**values))
    db.session.commit()


def test_a_cookie_saved_before_signing_out_opens_nothing_after(client, make_user, make_group):
    group = make_group()
    make_user("lan", group=group, role="coordinator")
    login(client, "lan")
    assert client.get(f"/g/{group.slug}/").status_code == 200
    saved = client.get_cookie("harmnet_session").value
    assert post_form(client, "/logout", page="/account").status_code == 302
    client.set_cookie("harmnet_session", saved)  # someone kept a copy of the cookie
    response = client.get(f"/g/{group.slug}/contacts/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/account").status_code == 302


def test_signing_in_opens_a_session_row_with_a_device_summary_only(client, db, make_user):
    user = make_user("lan")
    client.get("/login")
    agent = ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/126.0.0.0 Mobile Safari/537.36")
    post_form(client, "/login", {"login": "lan", "password": "correct horse battery"},
              headers={"User-Agent": agent})
    (row,) = _session_rows(db, user.id)
    assert row.user_agent == "Chrome, Android" and row.ended_at is None
    # The cookie holds a token whose hash names the row; the token is in no table.
    assert len(row.token_hash) == 64
    post_form(client, "/logout", page="/account")
    (row,) = _session_rows(db, user.id)
    assert row.ended_at is not None and row.end_reason == "signed_out"


def test_idle_limit_ends_the_session_with_a_message(client, db, make_user, make_group):
    group = make_group()
    user = make_user("lan", group=group)
    login(client, "lan")
    _age(db, user.id, last_seen_at=timedelta(minutes=31))
    response = client.get(f"/g/{group.slug}/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your session has ended" in page or "Phiên làm việc đã kết thúc" in page
    assert _session_rows(db, user.id)[0].end_reason == "idle"
    # The row stays ended: setting the clock back on it would not help a copied cookie.
    _age(db, user.id, last_seen_at=timedelta(0))
    assert client.get(f"/g/{group.slug}/").status_code == 302


def test_use_moves_the_idle_limit_at_most_once_a_minute(client, db, make_user, make_group):
    group = make_group()
    user = make_user("lan", group=group)
    login(client, "lan")
    client.get(f"/g/{group.slug}/")  # the first page may still write the CSRF token
    before = _session_rows(db, user.id)[0].last_seen_at
    response = client.get(f"/g/{group.slug}/")
    # Within the minute: no write, and the cookie is not sent again.
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert _session_rows(db, user.id)[0].last_seen_at == before
    # 29 minutes later a page still opens, and counts as use: 29 more minutes are fine.
    _age(db, user.id, last_seen_at=timedelta(minutes=29))
    assert client.get(f"/g/{group.slug}/").status_code == 200
    assert utcnow() - _session_rows(db, user.id)[0].last_seen_at < timedelta(seconds=10)
    _age(db, user.id, last_seen_at=timedelta(minutes=29))
    assert client.get(f"/g/{group.slug}/").status_code == 200


def test_absolute_limit_ends_even_a_busy_session(client, db, make_user, make_group):
    group = make_group()
    user = make_user("lan", group=group)
    login(client, "lan")
    _age(db, user.id, created_at=timedelta(hours=13))
    assert client.get(f"/g/{group.slug}/").status_code == 302
    assert _session_rows(db, user.id)[0].end_reason == "expired"


def test_a_tampered_cookie_is_refused(client, make_user, make_group):
    group = make_group()
    make_user("lan", group=group)
    login(client, "lan")
    assert client.get(f"/g/{group.slug}/").status_code == 200
    real = client.get_cookie("harmnet_session").value
    # Change the signature's first character (its last one carries unused base64 bits).
    head, signature = real.rsplit(".", 1)
    forged = f"{head}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    client.set_cookie("harmnet_session", forged)
    response = client.get(f"/g/{group.slug}/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_sign_out_this_device_from_another(app, client, db, make_user, make_group):
    group = make_group()
    user = make_user("lan", group=group)
    phone = app.test_client()
    login(phone, "lan")
    login(client, "lan")
    page = client.get("/account").get_data(as_text=True)
    phone_row, laptop_row = _session_rows(db, user.id)
    # Both devices are listed; only the other one can be signed out from here.
    assert f"/account/sessions/{phone_row.id}/end" in page
    assert f"/account/sessions/{laptop_row.id}/end" not in page
    response = client.post(f"/account/sessions/{phone_row.id}/end",
                           data={"end-csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert phone.get(f"/g/{group.slug}/").status_code == 302  # the phone is signed out
    assert client.get(f"/g/{group.slug}/").status_code == 200  # this device is not
    assert _session_rows(db, user.id)[0].end_reason == "ended_remotely"
    page = client.get("/account").get_data(as_text=True)
    assert f"/account/sessions/{phone_row.id}/end" not in page


def test_the_session_list_is_the_users_own(app, client, db, make_user, make_group):
    group = make_group()
    other = make_user("other", group=group)
    make_user("lan", group=group)
    stranger = app.test_client()
    agent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    stranger.get("/login")
    post_form(stranger, "/login", {"login": "other", "password": "correct horse battery"},
              headers={"User-Agent": agent})
    (theirs,) = _session_rows(db, other.id)
    login(client, "lan")
    page = client.get("/account").get_data(as_text=True)
    assert "Firefox" not in page and f"/sessions/{theirs.id}/" not in page
    # Ending another person's session by its id: as if it did not exist.
    response = client.post(f"/account/sessions/{theirs.id}/end",
                           data={"end-csrf_token": csrf_from(page)})
    assert response.status_code == 404
    assert stranger.get(f"/g/{group.slug}/").status_code == 200


def test_ending_a_session_needs_the_csrf_token(client, db, make_user):
    user = make_user("lan")
    login(client, "lan")
    (row,) = _session_rows(db, user.id)
    assert client.post(f"/account/sessions/{row.id}/end").status_code == 400
    assert _session_rows(db, user.id)[0].ended_at is None


def test_sign_out_everywhere_ends_other_sessions(client, app, db, make_user, make_group):
    group = make_group()
    user = make_user("lan", group=group)
    phone = app.test_client()
    login(phone, "lan")
    login(client, "lan")
    r = post_form(client, "/account", {"action": "everywhere", "all-confirm": "y"})
    assert r.status_code == 302
    assert phone.get(f"/g/{group.slug}/").status_code == 302
    assert client.get(f"/g/{group.slug}/").status_code == 302
    assert all(row.end_reason == "everywhere" for row in _session_rows(db, user.id))


def test_a_new_password_ends_the_other_sessions_and_keeps_this_one(client, app, db,
                                                                  make_user, make_group):
    group = make_group()
    make_user("lan", group=group)
    phone = app.test_client()
    login(phone, "lan")
    login(client, "lan")
    r = post_form(client, "/account", {"action": "password",
                                       "pw-current_password": "correct horse battery",
                                       "pw-new_password": "another long passphrase",
                                       "pw-confirm": "another long passphrase"})
    assert r.status_code == 302
    assert phone.get(f"/g/{group.slug}/").status_code == 302
    assert client.get(f"/g/{group.slug}/").status_code == 200


def test_the_worker_purges_ended_and_expired_sessions(app, client, db, make_user):
    from worker.tasks.maintenance import purge_ended_sessions

    user = make_user("lan")
    devices = [app.test_client() for _ in range(3)]
    for device in devices:
        login(device, "lan")
    post_form(devices[2], "/logout", page="/account")  # the third: signed out
    rows = _session_rows(db, user.id)
    db.session.execute(update(UserSession).where(UserSession.id == rows[0].id)
                       .values(last_seen_at=utcnow() - timedelta(hours=1)))  # idle
    db.session.commit()
    assert purge_ended_sessions.apply().get() == 2
    assert [r.id for r in _session_rows(db, user.id)] == [rows[1].id]
