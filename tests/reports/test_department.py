"""The department workspace: snapshots only, subtree only, managers edit, exports are valid."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from xml.etree import ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import select

from harmnet.models import Department, Target
from harmnet.services import reports
from tests.support import login, post_form

ADX = "{urn:ihe:qrph:adx:2015}"


@pytest.fixture
def city(db, make_department, make_group, make_user, builder):  # type: ignore[no-untyped-def]
    """hn > hn-bd; groups hoa-sen (hn-bd) and song-hong (hn); May 2024 reported."""
    make_department("hn", "Hà Nội")
    make_department("hn-bd", "Ba Đình", parent="hn")
    make_department("hcm", "Hồ Chí Minh")
    hoa_sen = make_group("hoa-sen", department="hn-bd", name="CLB Hoa Sen")
    song_hong = make_group("song-hong", department="hn", name="Nhóm Sông Hồng")
    far = make_group("far-away", department="hcm", name="Nhóm Xa")
    for group, n in ((hoa_sen, 8), (song_hong, 3), (far, 9)):
        b = builder(group)
        for i in range(n):
            k = b.contact(date(2024, 5, 2 + i), b.client("F", "18-24"), condoms=2)
            b.referral(k, "hiv_test", date(2024, 5, 2 + i))
    db.session.commit()
    for group in (hoa_sen, song_hong, far):
        reports.build_snapshot(group.id, "2024-05")
        reports.build_snapshot(group.id, "2024-04")
    db.session.commit()
    dept = {d.code: d for d in db.session.scalars(select(Department))}
    users = {"viewer": make_user("dept-viewer", department=dept["hn"], role="viewer")}
    users["manager"] = make_user("dept-manager", department=dept["hn"], role="manager")
    users["bd"] = make_user("dept-bd", department=dept["hn-bd"], role="viewer")
    return {"hoa_sen": hoa_sen.id, "song_hong": song_hong.id, "far": far.id, "users": users}


PAGES = ["/d/hn/?p=2024-05", "/d/hn/?p=2024-Q2", "/d/hn/?p=2024", "/d/hn/groups?p=2024-05",
         "/d/hn/trends?year=2024", "/d/hn/targets?year=2024", "/d/hn/completeness?year=2024",
         "/d/hn/definitions", "/d/hn/exports?p=2024-05"]
EXPORTS = ["csv", "xlsx", "json", "xml"]


def test_dashboard_sums_the_subtree(client, city):  # type: ignore[no-untyped-def]
    login(client, "dept-viewer")
    page = client.get("/d/hn/?p=2024-05").get_data(as_text=True)
    # 8 + 3 contacts (not a person count); the other city's 9 are not in hn's subtree.
    assert ">11<" in page
    # People reached: 8 from Hoa Sen, Sông Hồng's 3 hidden: "8+" (at least 8), never 11.
    assert '<span class="big">8<span class="hidden-mark">+</span></span>' in page
    assert "CLB Hoa Sen" in page and "Nhóm Xa" not in page


def test_every_page_answers_and_stays_inside_the_subtree(client, city):  # type: ignore[no-untyped-def]
    login(client, "dept-viewer")
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "style=" not in response.get_data(as_text=True), url
        assert "Nhóm Xa" not in response.get_data(as_text=True), url
    assert client.get(f"/d/hn/history/{city['hoa_sen']}/2024-05").status_code == 200
    assert client.get(f"/d/hn/history/{city['far']}/2024-05").status_code == 404
    assert client.get("/d/hcm/").status_code == 404
    assert client.get("/d/hn/?p=2024-13").status_code == 400


def test_viewer_of_the_district_sees_nothing_of_the_city(client, city):  # type: ignore[no-untyped-def]
    login(client, "dept-bd")
    assert client.get("/d/hn/").status_code == 404
    assert client.get("/d/hn/export.csv?p=2024-05").status_code == 404
    assert client.get(f"/d/hn-bd/history/{city['song_hong']}/2024-05").status_code == 404
    page = client.get("/d/hn-bd/groups?p=2024-05").get_data(as_text=True)
    assert "CLB Hoa Sen" in page and "Nhóm Sông Hồng" not in page


def test_group_member_cannot_open_the_department(client, city, make_user):  # type: ignore[no-untyped-def]
    from harmnet.extensions import db
    from harmnet.models import PeerGroup

    group = db.session.get(PeerGroup, city["hoa_sen"])
    make_user("coord-x", group=group, role="coordinator")
    login(client, "coord-x")
    assert client.get("/d/hn-bd/").status_code == 404


def test_viewer_cannot_use_manager_pages(client, city):  # type: ignore[no-untyped-def]
    login(client, "dept-viewer")
    for url in ("/d/hn/mapping", "/d/hn/dhis2"):
        assert client.get(url).status_code == 403
    response = post_form(client, "/d/hn/refresh", {"period": "2024-05"}, page="/d/hn/definitions")
    assert response.status_code == 403
    response = post_form(client, "/d/hn/targets?year=2024", {"t_contacts": "5"},
                         page="/d/hn/definitions")
    assert response.status_code == 403


def test_manager_sets_targets_and_sees_progress(client, city, db):  # type: ignore[no-untyped-def]
    login(client, "dept-manager")
    response = post_form(client, "/d/hn/targets?year=2024", {"t_contacts": "44", "t_reached": ""})
    assert response.status_code == 302
    target = db.session.scalar(select(Target))
    assert (target.indicator, target.year, target.value) == ("contacts", 2024, 44)
    page = client.get("/d/hn/targets?year=2024").get_data(as_text=True)
    assert 'value="44"' in page and "25%" in page  # 11 contacts (8 + 3, in May) of 44
    bad = post_form(client, "/d/hn/targets?year=2024", {"t_contacts": "-3"})
    assert bad.status_code == 400 and 'value="-3"' in bad.get_data(as_text=True)


def test_manager_refresh_writes_new_versions_only_where_changed(client, city, db, builder):  # type: ignore[no-untyped-def]
    from harmnet.models import PeerGroup

    group = db.session.get(PeerGroup, city["song_hong"])
    b = builder(group)
    for _ in range(3):
        b.contact(date(2024, 5, 20), b.client("M", "25-34"))
    db.session.commit()
    login(client, "dept-manager")
    response = post_form(client, "/d/hn/refresh", {"period": "2024-05"}, page="/d/hn/exports")
    assert response.status_code == 302
    assert [s.version for s in reports.history(group.department_id, group.id, "2024-05")] == [2, 1]
    hoa = reports.history(group.department_id, city["hoa_sen"], "2024-05")
    assert [s.version for s in hoa] == [1]
    page = client.get(f"/d/hn/history/{group.id}/2024-05").get_data(as_text=True)
    assert "v2" in page and "v1" in page
    assert post_form(client, "/d/hn/refresh", {"period": "May"},
                     page="/d/hn/exports").status_code == 400


def test_exports_are_valid_and_never_write_suppressed_as_zero(client, city):  # type: ignore[no-untyped-def]
    login(client, "dept-viewer")
    text = client.get("/d/hn/export.csv?p=2024-05").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    hidden = [r for r in rows if r["org_unit"] == "SONG_HONG" and r["indicator"] == "HN_REACHED"
              and r["disaggregation"] == "default"]
    assert hidden == [dict(hidden[0], value="", flag="suppressed")]
    assert {r["org_unit"] for r in rows} == {"HOA_SEN", "SONG_HONG"}

    book = load_workbook(io.BytesIO(client.get("/d/hn/export.xlsx?p=2024-05").data))
    sheet = list(book["data"].iter_rows(values_only=True))
    assert sheet[0][:4] == ("period", "org_unit", "group", "indicator")
    flagged = [r for r in sheet[1:] if r[8] == "suppressed"]
    assert flagged and all(r[7] in (None, "") for r in flagged)

    doc = json.loads(client.get("/d/hn/export.json?p=2024-05").data)
    assert set(doc) >= {"dataSet", "dataValues"}
    for value in doc["dataValues"]:
        assert set(value) == {"dataElement", "period", "orgUnit", "categoryOptionCombo", "value"}
        assert value["period"] == "202405" and isinstance(value["value"], str)
    assert not [v for v in doc["dataValues"] if v["orgUnit"] == "SONG_HONG"
                and v["dataElement"] == "HN_REACHED" and v["categoryOptionCombo"] == "default"]

    root = ET.fromstring(client.get("/d/hn/export.xml?p=2024-05").data)  # noqa: S314 - ours
    assert root.tag == f"{ADX}adx" and root.get("exported")
    groups = root.findall(f"{ADX}group")
    assert {g.get("orgUnit") for g in groups} == {"HOA_SEN", "SONG_HONG"}
    for group in groups:
        assert group.get("period") == "2024-05-01/P1M" and group.get("dataSet")
        for value in group.findall(f"{ADX}dataValue"):
            assert value.get("dataElement") and value.get("value") not in (None, "")
            float(value.get("value"))


def test_manager_edits_the_code_mapping(client, city):  # type: ignore[no-untyped-def]
    login(client, "dept-manager")
    page = client.get("/d/hn/mapping").get_data(as_text=True)
    import re

    fields = dict(re.findall(r'<input[^>]*name="(m\d+)"[^>]*value="([^"]*)"', page))
    element = next(k for k, v in fields.items() if v == "HN_CONTACTS")
    org = next(k for k, v in fields.items() if v == "HOA_SEN")
    fields.update({element: "DE_CONTACTS", org: "OU_BA_DINH_HS"})
    assert post_form(client, "/d/hn/mapping", fields).status_code == 302
    doc = json.loads(client.get("/d/hn/export.json?p=2024-05").data)
    assert {"DE_CONTACTS", "HN_CONDOMS"} <= {v["dataElement"] for v in doc["dataValues"]}
    assert "OU_BA_DINH_HS" in {v["orgUnit"] for v in doc["dataValues"]}
    fields[element] = "bad code!"
    bad = post_form(client, "/d/hn/mapping", fields)
    assert bad.status_code == 400 and "bad code!" in bad.get_data(as_text=True)


texts = st.text(max_size=40)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=texts, period=texts, url=texts, code=texts)
def test_manager_forms_never_fail_with_a_500(client, city, target, period, url, code):  # type: ignore[no-untyped-def]
    if not getattr(client, "_signed_in", False):
        login(client, "dept-manager")
        client._signed_in = True
    assert post_form(client, "/d/hn/targets?year=2024", {"t_contacts": target},
                     page="/d/hn/definitions").status_code in (302, 400)
    assert post_form(client, "/d/hn/refresh", {"period": period},
                     page="/d/hn/definitions").status_code in (302, 400)
    assert post_form(client, "/d/hn/dhis2", {"url": url, "enabled": "y"},
                     page="/d/hn/definitions").status_code in (302, 400)
    assert post_form(client, "/d/hn/mapping", {"m0": code},
                     page="/d/hn/definitions").status_code in (302, 400)
    for p in (period, target):
        assert client.get("/d/hn/", query_string={"p": p}).status_code in (200, 400)


def test_group_table_pages_through_many_groups(app, client, city, make_group, builder
                                               ):  # type: ignore[no-untyped-def]
    """A root department may supervise a thousand groups: the table shows a page of them,
    each with its own figures, and a pager; a bad page number is the first page."""
    from harmnet.extensions import db

    size = app.config["PAGE_SIZE"]
    for i in range(size):
        make_group(f"extra-{i:02d}", department="hn-bd", name=f"Nhóm {i:02d}")
    last = make_group("zz-last", department="hn", name="Zz cuối cùng")
    b = builder(last)
    for i in range(6):
        b.contact(date(2024, 5, 3 + i), b.client("F", "25-34"))
    db.session.commit()
    reports.build_snapshot(last.id, "2024-05")
    db.session.commit()
    login(client, "dept-viewer")
    first = client.get("/d/hn/groups?p=2024-05").get_data(as_text=True)
    assert "CLB Hoa Sen" in first and "Nhóm 00" in first and "Zz cuối cùng" not in first
    assert "Page 1 of 2" in first and "page=2" in first
    second = client.get("/d/hn/groups?p=2024-05&page=2").get_data(as_text=True)
    assert "Zz cuối cùng" in second and "CLB Hoa Sen" not in second
    row = second.split("Zz cuối cùng", 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">6</td>' in row  # its six contacts, read from its snapshot
    # The dashboard names the first page of groups and links to all of them.
    dashboard = client.get("/d/hn/?p=2024-05").get_data(as_text=True)
    assert f"All {size + 3} groups" in dashboard and "Zz cuối cùng" not in dashboard
    for bad in ("abc", "-3", "0", "99"):
        response = client.get(f"/d/hn/groups?p=2024-05&page={bad}")
        assert response.status_code == 200, bad


def test_exports_never_hand_a_spreadsheet_a_formula(client, city):  # type: ignore[no-untyped-def]
    """A group name that starts with = + - @ is exported as text, in the CSV and the XLSX
    alike (mapping codes cannot: the mapping form refuses anything but letters, digits, _)."""
    from harmnet.extensions import db
    from harmnet.models import PeerGroup

    db.session.get(PeerGroup, city["hoa_sen"]).name = '=HYPERLINK("http://x","y")'
    db.session.commit()
    login(client, "dept-viewer")
    lines = list(csv.reader(io.StringIO(
        client.get("/d/hn/export.csv?p=2024-05").get_data(as_text=True))))
    names = {line[2] for line in lines[1:]}
    assert "'=HYPERLINK(\"http://x\",\"y\")" in names
    assert not any(str(v).startswith(("=", "+", "-", "@")) for line in lines for v in line)
    book = load_workbook(io.BytesIO(client.get("/d/hn/export.xlsx?p=2024-05").data))
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                assert not (isinstance(value, str) and value[:1] in "=+-@"), value
