"""Issue #20 on the server side: the menu page behind the bar's "More" (by role, by group),
short dates, and refused fields tied to their messages (the contact form's client check
answered in place: tests/contacts/test_check_in_place.py)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from tests.support import login, post_form


def bar(html: str) -> list[str]:
    nav = re.search(r'<nav class="nav"[^>]*>(.*?)</nav>', html, re.S)
    assert nav, "no bar"
    return re.findall(r'<a href="([^"]+)"', nav.group(1))


def test_the_bar_has_four_places_and_the_menu_the_rest_by_role(client, app, make_group,
                                                               make_user):
    a, b = make_group("hoa-sen"), make_group("song-hong")
    make_user("coord", group=a, role="coordinator")
    make_user("peer", group=a, role="peer_educator")
    make_user("other", group=b, role="coordinator")
    for who in ("coord", "peer"):
        browser = app.test_client()
        login(browser, who)
        home = browser.get("/g/hoa-sen/").get_data(as_text=True)
        assert bar(home) == ["/g/hoa-sen/", "/g/hoa-sen/contacts/new",
                             "/g/hoa-sen/contacts/follow-ups", "/g/hoa-sen/menu"]
        assert 'aria-current="page">' in home.split("</nav>")[0]
        menu = browser.get("/g/hoa-sen/menu")
        assert menu.status_code == 200
        html = menu.get_data(as_text=True)
        assert 'href="/g/hoa-sen/menu" class="more" aria-current="page"' in html
        # Coordinators' areas are in the coordinator's menu only.
        assert ('href="/g/hoa-sen/members/"' in html) == (who == "coord")
        assert ('href="/g/hoa-sen/reminders/"' in html) == (who == "coord")
        assert 'href="/account"' in html and 'href="/choose"' in html
        # A page the bar does not name marks "More" as the place it is under.
        trainings = browser.get("/g/hoa-sen/trainings/").get_data(as_text=True)
        assert 'class="more" aria-current="true"' in trainings
    # Another group's menu does not exist for them (404, as every group page).
    assert browser.get("/g/song-hong/menu").status_code == 404
    other = app.test_client()
    login(other, "other")
    assert other.get("/g/hoa-sen/menu").status_code == 404
    assert other.get("/g/song-hong/menu").status_code == 200


def test_department_and_platform_menus(client, app, make_department, make_user):
    dept = make_department("hn")
    make_user("viewer", department=dept, role="viewer")
    make_user("manager", department=dept, role="manager")
    pages = {}
    for who in ("viewer", "manager"):
        browser = app.test_client()
        login(browser, who)
        response = browser.get("/d/hn/menu")
        assert response.status_code == 200
        pages[who] = response.get_data(as_text=True)
        assert len(bar(pages[who])) == 4
    assert "/d/hn/mapping" in pages["manager"] and "/d/hn/mapping" not in pages["viewer"]
    assert "/d/hn/exports" in pages["viewer"]
    assert client.get("/menu").status_code == 302  # a visitor signs in first
    assert client.get("/d/hn/menu").status_code in (302, 404)


def test_dates_and_times_are_short_in_the_groups_time_zone(app):
    from flask_babel import force_locale

    from harmnet import formats

    moment = datetime(2026, 12, 6, 2, 0, 45, tzinfo=UTC)  # 09:00:45 in Hà Nội
    with app.test_request_context(), force_locale("vi"):
        assert formats.when(moment) == "CN 06/12/2026 09:00" or formats.when(moment) == \
            "CN 06/12 09:00"
        assert formats.day(date(2024, 1, 31)) == "31/01/2024"
        assert formats.num(12345) == "12.345"
    with app.test_request_context(), force_locale("en"):
        assert formats.when(moment) in ("Sun 6 Dec, 09:00", "Sun 6 Dec 2026, 09:00")
        assert formats.num(12345) == "12,345"


def test_no_template_uses_the_long_babel_formats():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "templates"
    found = [str(p) for p in root.rglob("*.html")
             if re.search(r"\|(datetimeformat|dateformat|timeformat)\b(?!\('[^sfml])",
                                   p.read_text())]
    assert found == [], "use |when, |day or |clock (harmnet/formats.py)"


def test_a_refused_training_names_its_fields_and_the_topic_starts_blank(client, make_group,
                                                                         make_user):
    group = make_group("hoa-sen")
    make_user("coord", group=group, role="coordinator")
    login(client, "coord")
    page = client.get("/g/hoa-sen/trainings/new").get_data(as_text=True)
    first = re.search(r'<select[^>]*name="topic"[^>]*>\s*<option([^>]*)>', page)
    assert first and 'value=""' in first.group(1)  # shown first: nothing chosen yet
    assert "selected" not in page.split('name="topic"')[1].split("</select>")[0]
    response = post_form(client, "/g/hoa-sen/trainings/new", {"topic": "", "title": ""},
                         page="/g/hoa-sen/trainings/new")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert '<section class="error-summary" tabindex="-1" autofocus' in html
    assert '<a href="#topic">' in html and '<a href="#title">' in html
    topic = re.search(r'<select[^>]*name="topic"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in topic and 'aria-describedby="topic-err"' in topic
    assert 'id="topic-err"' in html and "Please choose one of the options." in html


def test_invite_them_all_starts_with_peer_educators(client, db, make_group, make_user):
    from datetime import timedelta

    from harmnet.services import trainings
    from tests.support import in_group

    group = make_group("hoa-sen")
    make_user("coord", group=group, role="coordinator")
    with in_group(group.id):
        training = trainings.create(title="T", topic="harm_reduction", duration_minutes=60,
                                    starts_at=datetime.now(UTC) + timedelta(days=3))
        db.session.commit()
        training_id = training.id
    login(client, "coord")
    html = client.get(f"/g/hoa-sen/trainings/{training_id}/invite").get_data(as_text=True)
    assert re.search(r'<input type="checkbox" id="roles-0" name="roles" value="peer_educator" '
                     r'checked', html)
