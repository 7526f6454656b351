"""The stock pages: every new route answers 404 across groups and departments and 403 to
the wrong role; a receipt and a count through the forms; bad values re-render with what
was typed and a message in the reader's language; the coordinator's home; the department's
stock table (snapshots only) and the exports carrying the new indicators."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harmnet.services import reports
from tests.stock.conftest import balances, core, session_contact
from tests.support import csrf_from, in_group, login, post_form


def today() -> date:
    return reports.local_now("Asia/Ho_Chi_Minh").date()


GROUP_ROUTES = [("get", "/stock/"), ("post", "/stock/settings"), ("get", "/stock/{c}/"),
                ("post", "/stock/{c}/receipt"), ("post", "/stock/{c}/count"),
                ("post", "/stock/{c}/adjust")]


@pytest.fixture
def cross(two_groups, db):  # type: ignore[no-untyped-def]
    a, b, users = two_groups
    with in_group(a.id):
        condoms = core()["condoms"]
    return a, b, users, condoms


@pytest.mark.parametrize(("method", "path"), GROUP_ROUTES)
def test_group_routes_404_across_groups_and_403_for_peer_educators(app, client, cross, method,
                                                                   path):  # type: ignore[no-untyped-def]
    a, b, users, condoms = cross
    url = f"/g/{a.slug}" + path.format(c=condoms)
    login(client, users["b_coord"].login)  # a coordinator, of the other group
    assert getattr(client, method)(url, data={}).status_code == 404
    client = app.test_client()
    login(client, users["a_peer"].login)
    token = csrf_from(client.get(f"/g/{a.slug}/contacts/new").get_data(as_text=True))
    assert getattr(client, method)(url, data={"csrf_token": token}).status_code == 403


def test_department_routes_404_outside_and_403_for_viewers(client, make_department, make_user
                                                           ):  # type: ignore[no-untyped-def]
    mine = make_department("dep-a")
    other = make_department("dep-b")
    viewer = make_user(department=mine, role="viewer")
    login(client, viewer.login)
    assert client.get("/d/dep-a/stock").status_code == 200
    assert client.get("/d/dep-b/stock").status_code == 404
    assert client.get("/d/dep-a/commodities").status_code == 403
    assert client.post("/d/dep-a/commodities", data={}).status_code in (400, 403)
    assert client.post("/d/dep-a/commodities", data={
        "csrf_token": csrf_from(client.get("/d/dep-a/stock").get_data(as_text=True))
    }).status_code == 403
    assert other


def test_a_receipt_and_a_count_through_the_card(client, login_as, make_group, db
                                                ):  # type: ignore[no-untyped-def]
    group = make_group()
    login_as("coordinator", group=group)
    with in_group(group.id):
        condoms = core()["condoms"]
    page = f"/g/{group.slug}/stock/{condoms}/"
    day = today().isoformat()
    response = post_form(client, f"{page}receipt", {
        "r-occurred_on": day, "r-quantity": "144", "r-source": "CDC Hà Nội",
        "r-batch": "LOT-7", "r-expires_on": (today() + timedelta(days=400)).isoformat()},
        page=page)
    assert response.status_code == 302
    response = post_form(client, f"{page}count", {"c-occurred_on": day, "c-counted": "140"},
                         page=page)
    assert response.status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert "Count recorded: the balance was corrected by -4." in html
    assert "Received from CDC Hà Nội" in html and "LOT-7" in html
    with in_group(group.id):
        assert balances() == {condoms: 140}


@pytest.mark.parametrize(("data", "message"), [
    ({"r-quantity": "-5"}, "A quantity cannot be negative."),
    ({"r-quantity": "99999999"}, "This quantity is not plausible"),
    ({"r-quantity": "mười"}, "Please enter a whole number."),
    ({"r-occurred_on": "2999-01-01"}, "The date cannot be in the future."),
    ({"r-expires_on": "2020-01-01"}, "The expiry date cannot be before the date received."),
])
def test_bad_receipts_keep_the_values_and_say_why(client, login_as, make_group, data, message
                                                  ):  # type: ignore[no-untyped-def]
    group = make_group()
    login_as("coordinator", group=group)
    with in_group(group.id):
        condoms = core()["condoms"]
    page = f"/g/{group.slug}/stock/{condoms}/"
    form = {"r-occurred_on": today().isoformat(), "r-quantity": "10", "r-source": "Quỹ X",
            **data}
    response = post_form(client, f"{page}receipt", form, page=page)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert 'value="Quỹ X"' in html
    typed = next(iter(data.values()))
    assert f'value="{typed}"' in html
    with in_group(group.id):
        assert balances() == {}


def test_bad_count_in_vietnamese(client, make_group, make_user):  # type: ignore[no-untyped-def]
    group = make_group()
    user = make_user(group=group, role="coordinator", locale="vi")
    login(client, user.login)
    with in_group(group.id):
        condoms = core()["condoms"]
    page = f"/g/{group.slug}/stock/{condoms}/"
    response = post_form(client, f"{page}count", {"c-occurred_on": today().isoformat(),
                                                   "c-counted": "-2"}, page=page)
    assert response.status_code == 400
    assert "Số lượng không thể là số âm." in response.get_data(as_text=True)


def test_the_coordinators_home_shows_stock_outs_and_asks_for_a_receipt(
        client, login_as, make_group, db):  # type: ignore[no-untyped-def]
    group = make_group()
    user = login_as("coordinator", group=group)
    with in_group(group.id):
        session_contact(group.id, user.id, today(), lubricants=3)
        db.session.commit()
    html = client.get(f"/g/{group.slug}/").get_data(as_text=True)
    assert "Stock to act on" in html and "out of stock" in html
    assert "record the missing receipt or a count" in html
    index = client.get(f"/g/{group.slug}/stock/").get_data(as_text=True)
    assert "Out of stock" in index and "Below zero" in index


def test_the_department_sees_each_groups_stock_and_the_exports_carry_it(
        client, make_department, make_group, make_user, db):  # type: ignore[no-untyped-def]
    department = make_department("dep-s")
    group = make_group(department="dep-s", name="Nhóm Kho")
    coordinator = make_user(group=group, role="coordinator")
    last_month = reports.previous_month(today())
    first = reports.month_bounds(last_month)[0]
    with in_group(group.id):
        kits = core()["self_test_kits"]
        from harmnet.services import stock

        stock.record_receipt(group.id, stock.group_commodity(group, kits),
                             occurred_on=first + timedelta(days=1), quantity=20,
                             source="CDC", actor_id=coordinator.id, today=today())
        session_contact(group.id, coordinator.id, first + timedelta(days=2), self_test_kits=3)
        db.session.commit()
    from harmnet.tenancy import reports_context

    with reports_context():  # as the monthly job does
        reports.build_snapshot(group.id, last_month)
        db.session.commit()
    viewer = make_user(department=department, role="viewer")
    login(client, viewer.login)
    html = client.get(f"/d/dep-s/stock?p={last_month}").get_data(as_text=True)
    row = html[html.index("HIV self-test kits"):]
    # On hand 17, received 20, given out 3 (the distribution indicator), no day out.
    assert [cell.split("</td>")[0].strip() for cell in row.split('<td class="num">')[1:5]] == [
        "17", "20", "3", "0"]
    csv_rows = [line.split(",") for line in client.get(
        f"/d/dep-s/export.csv?p={last_month}").get_data(as_text=True).splitlines()]
    picked = {(r[3], r[5]): r[7] for r in csv_rows[1:] if r[3].startswith("HN_")}
    assert picked[("HN_STOCK_OUT_DAYS", "SELF_TEST_KITS")] == "0"
    assert picked[("HN_COMMODITIES_RECEIVED", "SELF_TEST_KITS")] == "20"
    import json

    dhis2 = json.loads(client.get(f"/d/dep-s/export.json?p={last_month}").get_data())
    elements = {(v["dataElement"], v["categoryOptionCombo"]): v["value"]
                for v in dhis2["dataValues"]}
    assert elements[("HN_COMMODITIES_RECEIVED", "SELF_TEST_KITS")] in ("20", 20)
    assert elements[("HN_STOCK_ON_HAND", "SELF_TEST_KITS")] in ("17", 17)
    adx = client.get(f"/d/dep-s/export.xml?p={last_month}").get_data(as_text=True)
    assert 'dataElement="HN_STOCK_OUT_DAYS"' in adx and 'COMMODITY="SELF_TEST_KITS"' in adx


odd = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["", " ", "\x00", "-1", "0", "1e9", "9" * 40, "NaN", "Infinity", "٣",
                     "2999-12-31", "0001-01-01", "2024-02-30", "<b>", "1,5", "a" * 5000]),
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(form=st.sampled_from(["receipt", "count", "adjust", "settings"]),
       data=st.dictionaries(st.sampled_from(["occurred_on", "quantity", "counted", "source",
                                             "batch", "expires_on", "reason", "note",
                                             "months"]), odd))
def test_no_value_makes_a_500(client, fuzz_page, form, data):  # type: ignore[no-untyped-def]
    page, token, condoms = fuzz_page
    prefix = {"receipt": "r-", "count": "c-", "adjust": "a-", "settings": ""}[form]
    url = f"{page}settings" if form == "settings" else f"{page}{condoms}/{form}"
    response = client.post(url, data={"csrf_token": token,
                                      **{prefix + k: v for k, v in data.items()}})
    assert response.status_code in (302, 400)


@pytest.fixture
def fuzz_page(client, login_as, make_group):  # type: ignore[no-untyped-def]
    group = make_group()
    login_as("coordinator", group=group)
    with in_group(group.id):
        condoms = core()["condoms"]
    page = f"/g/{group.slug}/stock/"
    return page, csrf_from(client.get(page).get_data(as_text=True)), condoms


def test_a_department_adds_a_commodity_for_its_subtree_only(app, client, make_department,
                                                            make_group, make_user, db
                                                            ):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from harmnet.models import Commodity

    top = make_department("dep-top")
    make_department("dep-child", parent="dep-top")
    make_department("dep-else")
    inside = make_group(department="dep-child")
    outside = make_group(department="dep-else")
    manager = make_user(department=top, role="manager")
    login(client, manager.login)
    bad = post_form(client, "/d/dep-top/commodities", {"code": "Bao Cao Su!", "name_vi": "X",
                                                       "tracks_expiry": "no"})
    assert bad.status_code == 400 and 'value="Bao Cao Su!"' in bad.get_data(as_text=True)
    taken = post_form(client, "/d/dep-top/commodities", {"code": "condoms", "name_vi": "X",
                                                         "tracks_expiry": "no"})
    assert taken.status_code == 400 and "This code is taken." in taken.get_data(as_text=True)
    assert post_form(client, "/d/dep-top/commodities", {
        "code": "female_condoms", "name_vi": "Bao cao su nữ", "name_en": "Female condoms",
        "tracks_expiry": "yes"}).status_code == 302
    added = db.session.scalar(select(Commodity.id).where(Commodity.code == "female_condoms"))
    member = app.test_client()
    login(member, make_user(group=inside, role="coordinator").login)
    assert "Female condoms" in member.get(f"/g/{inside.slug}/stock/").get_data(as_text=True)
    assert member.get(f"/g/{inside.slug}/stock/{added}/").status_code == 200
    stranger = app.test_client()
    login(stranger, make_user(group=outside, role="coordinator").login)
    assert "Female condoms" not in stranger.get(f"/g/{outside.slug}/stock/").get_data(
        as_text=True)
    assert stranger.get(f"/g/{outside.slug}/stock/{added}/").status_code == 404
