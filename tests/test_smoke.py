"""The login page answers, and a demo-like setup lands users where they belong."""

from tests.support import login, post_form


def test_login_page_renders_in_vietnamese_by_default(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert 'lang="vi"' in response.get_data(as_text=True)


def test_coordinator_lands_on_group_home(client, make_group, make_user):
    group = make_group("hoa-sen", name="CLB Hoa Sen")
    user = make_user("coord", group=group, role="coordinator")
    response = login(client, user.login)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/g/hoa-sen/")
    page = client.get("/g/hoa-sen/")
    assert page.status_code == 200
    assert "CLB Hoa Sen" in page.get_data(as_text=True)


def test_page_follows_the_users_language_and_switches_with_it(client, make_group, make_user):
    group = make_group("hoa-sen")
    make_user("coord", group=group, role="coordinator", locale="vi")
    login(client, "coord")
    html = client.get("/g/hoa-sen/").get_data(as_text=True)
    assert 'lang="vi"' in html and "Trang chủ" in html and "Đăng xuất" in html
    assert "Điều phối viên" in html  # the role, through the role_name filter
    assert 'value="vi" class="link" aria-current="true"' in html
    post_form(client, "/lang", {"lang": "en", "next": "/g/hoa-sen/"}, page="/g/hoa-sen/")
    html = client.get("/g/hoa-sen/").get_data(as_text=True)
    assert 'lang="en"' in html and ">Home<" in html and "Sign out" in html
    assert "Coordinator ·" in html
    assert 'value="en" class="link" aria-current="true"' in html
