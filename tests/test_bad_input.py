"""No input, however odd, produces a 500: hypothesis over the login, invitation and admin forms."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import csrf_from, login

odd_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=50),
    st.sampled_from(["", " ", "\x00", "a" * 5000, "Đ" * 200, "<script>", "' OR 1=1 --",
                     "\u202e\u200b", "👩🏽‍⚕️", "%00", "../../etc/passwd"]),
)
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _post(client, url, data, page=None):
    token = csrf_from(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


@SETTINGS
@given(login_name=odd_text, password=odd_text)
def test_login_form_never_500s(client, login_name, password):
    response = _post(client, "/login", {"login": login_name, "password": password})
    assert response.status_code in (200, 400, 429)


@SETTINGS
@given(data=st.dictionaries(st.sampled_from(["display_name", "login", "password", "confirm"]),
                            odd_text))
def test_invitation_form_never_500s(client, invitation_link, data):
    response = _post(client, invitation_link, data)
    assert response.status_code in (200, 302, 400, 404, 429)  # 404 once a valid post used it


@SETTINGS
@given(data=st.dictionaries(st.sampled_from(["d-code", "d-name", "d-parent", "g-slug", "g-name",
                                             "g-kind", "g-department", "g-area", "c-group",
                                             "c-label"]), odd_text))
def test_admin_forms_never_500(admin_client, data):
    for url in ("/admin/departments", "/admin/groups", "/admin/coordinators"):
        response = _post(admin_client, url, data, page="/admin/")
        assert response.status_code in (200, 302, 400)


@SETTINGS
@given(data=st.dictionaries(st.sampled_from(["label", "role"]), odd_text))
def test_invite_form_never_500s(coordinator_client, data):
    client, group = coordinator_client
    response = _post(client, f"/g/{group.slug}/logins/invite", data)
    assert response.status_code in (200, 400)


def test_oversized_and_odd_values_rerender_with_message(coordinator_client):
    client, group = coordinator_client
    response = _post(client, f"/g/{group.slug}/logins/invite",
                     {"label": "Mai" + "\x00" + "x" * 200, "role": "peer_educator"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "xxxxxxxx" in html  # the value comes back
    assert "Vui lòng sửa" in html or "Please correct" in html


@pytest.fixture
def invitation_link(client, make_group, make_user):
    from harmnet.extensions import db
    from harmnet.services import accounts
    from tests.support import in_group

    group = make_group()
    coord = make_user(group=group, role="coordinator")
    with in_group(group.id):
        created = accounts.invite(group.id, "peer_educator", "Mai", invited_by=coord.id)
        db.session.commit()
    return f"/invite/{created.token}"


@pytest.fixture
def admin_client(client, make_user, make_department):
    make_department("hn")
    user = make_user(is_admin=True)
    login(client, user.login)
    return client


@pytest.fixture
def coordinator_client(client, make_group, make_user):
    group = make_group()
    user = make_user(group=group, role="coordinator")
    login(client, user.login)
    return client, group


@pytest.mark.parametrize("number", [2**63 - 1, 2**63, 10**30])
def test_an_id_too_big_for_the_database_is_a_404(app, coordinator_client, number):
    """Every route taking an id, asked for one at or past BIGINT's end: no such page."""
    client, group = coordinator_client
    tried = []
    for rule in app.url_map.iter_rules():
        ids = [name for name in rule.arguments if name.endswith("_id")]
        if not ids or "GET" not in rule.methods:
            continue
        values = {name: 1 for name in rule.arguments}
        values.update(group_slug=group.slug, slug=group.slug)
        path = rule.build({**values, **{name: 1 for name in ids}}, append_unknown=False)[1]
        # Built with 1, then the id's digits swapped for the big number (the converter
        # would refuse to build it, which is the point).
        path = path.replace("/1", f"/{number}")
        response = client.get(path)
        tried.append(path)
        assert response.status_code == 404, f"{path}: {response.status_code}"
    assert len(tried) >= 10, tried
