"""Exports a DHIS2 server or any ADX receiver accepts as they are: CSV for Excel, DHIS2
dataValueSets whose data elements each keep one category combination, ADX valid against the
schema generated from the catalogue, and a push that withdraws values and reports conflicts."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from lxml import etree
from sqlalchemy import select

from harmnet.indicators import CATALOGUE
from harmnet.models import Department, Dhis2Push, ReportSnapshot
from harmnet.services import dhis2, exports, reports
from tests.reports.test_department import city  # noqa: F401 - the fixture
from tests.support import login, post_form


def test_csv_has_a_byte_order_mark_and_one_charset(client, city):  # type: ignore[no-untyped-def]  # noqa: F811
    login(client, "dept-viewer")
    response = client.get("/d/hn/export.csv?p=2024-05")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.startswith("\ufeff".encode())
    assert response.data.decode("utf-8-sig").startswith("period,org_unit,group,indicator")


def _dhis2(client, spec):  # type: ignore[no-untyped-def]
    return json.loads(client.get(f"/d/hn/export.json?p={spec}").data)["dataValues"]


def test_dhis2_values_are_unique_and_never_mix_default(client, city, db):  # type: ignore[no-untyped-def]  # noqa: F811
    login(client, "dept-viewer")
    for spec in ("2024-05", "2024-Q2", "2024"):
        values = _dhis2(client, spec)
        keys = Counter((v["dataElement"], v["period"], v["orgUnit"], v["categoryOptionCombo"],
                        v.get("attributeOptionCombo", "default")) for v in values)
        assert keys and max(keys.values()) == 1, spec
        combos: dict[str, set[str]] = {}
        for v in values:
            combos.setdefault(v["dataElement"], set()).add(v["categoryOptionCombo"])
        for element, used in combos.items():
            assert "default" not in used or used == {"default"}, (spec, element, used)
    values = _dhis2(client, "2024-Q2")
    assert {v["period"] for v in values} == {"2024Q2"}
    total = [v for v in values if v["dataElement"] == "HN_REACHED_TOTAL"]
    assert {v["orgUnit"]: v["value"] for v in total} == {"HOA_SEN": "8"}  # Sông Hồng's 3 hidden
    # A manager leaves the totals to DHIS2: they are not sent at all.
    exports.save_mapping(db.session.get(Department, _hn(db)).id,
                         {("total", i.code): "-" for i in CATALOGUE
                          if i.disaggregation == "sex_age"})
    db.session.commit()
    assert not [v for v in _dhis2(client, "2024-Q2") if v["dataElement"].endswith("_TOTAL")]


def _hn(db) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(Department.id).where(Department.code == "hn"))


def test_adx_is_valid_against_the_schema_from_the_catalogue(client, city):  # type: ignore[no-untyped-def]  # noqa: F811
    login(client, "dept-viewer")
    schema = etree.XMLSchema(etree.fromstring(client.get("/d/hn/export.xsd").data))
    for spec in ("2024-05", "2024-Q2", "2024"):
        doc = etree.fromstring(client.get(f"/d/hn/export.xml?p={spec}").data)
        schema.assertValid(doc)
    ns = {"a": exports.ADX_NS}
    groups = doc.findall("a:group", ns)  # the year so far: January to May
    assert {g.get("period") for g in groups} == {"2024-01-01/P5M"}
    q2 = etree.fromstring(client.get("/d/hn/export.xml?p=2024-Q2").data)
    assert {g.get("period") for g in q2.findall("a:group", ns)} == {"2024-04-01/P2M"}
    cells = [v.attrib for v in q2.iterfind(".//a:dataValue", ns)]
    assert {"dataElement": "HN_REACHED", "value": "8", "SEX": "F", "AGE_BAND": "18-24"} in [
        dict(c) for c in cells]
    assert not [c for c in cells if "categoryOptionCombo" in c]
    # Every value carries exactly the attributes the structure definition gives its element.
    dsd = exports.structure(exports.CodeMap({}))
    for c in cells:
        dims = {k for k in c if k not in ("dataElement", "value")}
        assert dims == set(dsd["elements"][c["dataElement"]]), c
    # A schema that does not know a code refuses the message (the schema is not loose).
    bad = etree.fromstring(client.get("/d/hn/export.xml?p=2024-Q2").data)
    bad.find(".//a:dataValue", ns).set("SEX", "X")
    assert not schema.validate(bad)
    # The DHIS2-flavoured ADX remains an option.
    flavoured = client.get("/d/hn/export.xml?p=2024-Q2&flavour=dhis2").data
    assert b"categoryOptionCombo" in flavoured and b"SEX=" not in flavoured


class _Server(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # type: ignore[no-untyped-def]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((self.path, body))
        conflicts = [{"object": v["dataElement"], "value": "Data element not found"}
                     for v in body["dataValues"] if v["dataElement"] == "HN_CONDOMS"]
        payload = {"httpStatus": "Conflict" if conflicts else "OK",
                   "response": {"status": "WARNING" if conflicts else "SUCCESS",
                                "importCount": {"imported": len(body["dataValues"]),
                                                "updated": 0, "ignored": len(conflicts),
                                                "deleted": 0},
                                "conflicts": conflicts}}
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # type: ignore[no-untyped-def]
        pass


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    _Server.received = []
    httpd = HTTPServer(("127.0.0.1", 0), _Server)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_push_withdraws_values_and_reports_conflicts(db, make_group, builder, server
                                                    ):  # type: ignore[no-untyped-def]
    from worker.tasks.reports import build_group_snapshot

    group = make_group("push-w")
    group_id = group.id
    b = builder(group)
    people = [b.client("F", "25-34") for _ in range(6)]
    for person in people:
        b.contact(date(2024, 5, 3), person, condoms=2)
    twice = [people[0].id, people[1].id]
    url = f"http://127.0.0.1:{server.server_address[1]}/api/dataValueSets"
    dhis2.save_settings(group.department_id, url, "", None, True)
    db.session.commit()
    build_group_snapshot.apply_async((group_id, "2024-05", "monthly")).get()
    db.session.remove()
    may = [(p, body) for p, body in _Server.received
           if {v["period"] for v in body["dataValues"]} == {"202405"}]
    sent = {v["categoryOptionCombo"]: v["value"] for v in may[0][1]["dataValues"]
            if v["dataElement"] == "HN_REACHED"}
    assert sent["F_25_34"] == "6"
    pushes = db.session.scalars(select(Dhis2Push)).all()
    assert {p.status for p in pushes} == {"partial"}  # HN_CONDOMS refused every time
    assert all("conflicts=1: HN_CONDOMS: Data element not found" in p.message for p in pushes)

    # Two people turn out to be one person entered twice: 5 left... then 4, now hidden.
    from harmnet.models import Contact
    from harmnet.tenancy import group_context

    with group_context(group_id):
        for contact in db.session.scalars(select(Contact).where(
                Contact.client_id.in_(twice))):
            contact.deleted_at = contact.created_at
        db.session.commit()  # inside the group's context: RLS admits the UPDATE
    _Server.received = []
    build_group_snapshot.apply_async((group_id, "2024-05", "revision")).get()
    deletes = [body for p, body in _Server.received if "importStrategy=DELETE" in p]
    withdrawn = {(v["dataElement"], v["period"], v["categoryOptionCombo"])
                 for body in deletes for v in body["dataValues"]}
    assert ("HN_REACHED", "202405", "F_25_34") in withdrawn  # 4 people: now suppressed
    assert reports.latest_snapshot(group_id, "2024-05").payload["values"]["reached"][
        "F:25-34"] is None


def test_mapping_page_offers_totals(client, city):  # type: ignore[no-untyped-def]  # noqa: F811
    login(client, "dept-manager")
    page = client.get("/d/hn/mapping").get_data(as_text=True)
    assert "HN_REACHED_TOTAL" in page and "to leave them out" in page
    response = post_form(client, "/d/hn/mapping", {}, page="/d/hn/mapping")
    assert response.status_code == 302


def test_department_rollup_under_its_own_org_unit(client, city):  # type: ignore[no-untyped-def]  # noqa: F811
    login(client, "dept-viewer")
    values = json.loads(client.get("/d/hn/export.json?p=2024-Q2&level=department").data)[
        "dataValues"]
    assert {v["orgUnit"] for v in values} == {"HN"}
    by = {(v["dataElement"], v["categoryOptionCombo"]): v["value"] for v in values}
    assert by[("HN_CONTACTS", "default")] == "11"  # 8 + 3 contacts of the subtree
    # Sông Hồng's 3 people are hidden in its report: the department total is left out, not 8.
    assert ("HN_REACHED_TOTAL", "default") not in by
    doc = etree.fromstring(client.get("/d/hn/export.xml?p=2024-Q2&level=department").data)
    etree.XMLSchema(etree.fromstring(client.get("/d/hn/export.xsd").data)).assertValid(doc)
    text = client.get("/d/hn/export.csv?p=2024-Q2&level=department").data.decode("utf-8-sig")
    assert ",HN,Hà Nội," in text and "suppressed" in text


def test_push_at_department_level_rolls_up_withdraws_and_reports_conflicts(
        db, make_department, make_group, builder, server):  # type: ignore[no-untyped-def]
    """The department's own figures (its subtree added up, under its org unit code), sent
    once per period whatever number of groups changed; a cell one group now hides is
    withdrawn; the server's per-value conflicts are recorded on the push."""
    from harmnet.models import Contact
    from harmnet.tenancy import group_context
    from worker.tasks.reports import build_group_snapshot

    department = make_department("dp", "Sở Đ")
    make_department("dp-1", "Quận 1", parent="dp")
    a, b = make_group("push-a", department="dp"), make_group("push-b", department="dp-1")
    a_id, b_id = a.id, b.id
    for group, n in ((a, 8), (b, 5)):
        made = builder(group)
        for _ in range(n):
            made.contact(date(2024, 5, 3), made.client("F", "25-34"), condoms=2)
    url = f"http://127.0.0.1:{server.server_address[1]}/api/dataValueSets"
    dept_id = department.id
    dhis2.save_settings(dept_id, url, "", None, True, "department")
    db.session.commit()
    build_group_snapshot.apply_async((a_id, "2024-05", "monthly")).get()
    build_group_snapshot.apply_async((b_id, "2024-05", "monthly")).get()
    db.session.remove()
    pushes = db.session.scalars(select(Dhis2Push).order_by(Dhis2Push.id)).all()
    # One push per new period of each closing (the months of the year so far, the
    # quarters, the year), by the department that asked for it only.
    snapshots = db.session.scalars(select(ReportSnapshot)).all()
    assert len(pushes) == len(snapshots) and {p.department_id for p in pushes} == {dept_id}
    # The batch path closes many groups in one task: still one push per period.
    assert len(dhis2.start_pushes(snapshots)) == len({s.period for s in snapshots})
    db.session.rollback()
    last_may = [body for path, body in _Server.received
                if "importStrategy=CREATE_AND_UPDATE" in path
                and {v["period"] for v in body["dataValues"]} == {"202405"}][-1]
    assert {v["orgUnit"] for v in last_may["dataValues"]} == {"DP"}
    sent = {(v["dataElement"], v["categoryOptionCombo"]): v["value"]
            for v in last_may["dataValues"]}
    assert sent[("HN_REACHED", "F_25_34")] == "13" and sent[("HN_CONTACTS", "default")] == "13"
    assert {p.status for p in pushes} == {"partial"}  # HN_CONDOMS refused every time
    assert all("conflicts=1: HN_CONDOMS: Data element not found" in p.message for p in pushes)

    # Two of group B's five people were one person entered three times: B now has 3, a
    # small count it hides, so the department's F 25-34 is withdrawn from the server.
    with group_context(b_id):
        for contact in db.session.scalars(select(Contact).limit(2)):
            contact.deleted_at = contact.created_at
        db.session.commit()
    _Server.received = []
    build_group_snapshot.apply_async((b_id, "2024-05", "revision")).get()
    deletes = [body for path, body in _Server.received if "importStrategy=DELETE" in path]
    withdrawn = {(v["dataElement"], v["period"], v["orgUnit"], v["categoryOptionCombo"])
                 for body in deletes for v in body["dataValues"]}
    assert ("HN_REACHED", "202405", "DP", "F_25_34") in withdrawn
    assert all(key[2] == "DP" for key in withdrawn)
    resent = [body for path, body in _Server.received if "CREATE_AND_UPDATE" in path]
    assert all(("HN_REACHED", "F_25_34") not in {(v["dataElement"], v["categoryOptionCombo"])
                                                 for v in body["dataValues"]}
               for body in resent if {v["period"] for v in body["dataValues"]} == {"202405"})
    assert db.session.scalars(select(Dhis2Push).order_by(Dhis2Push.id.desc())).first(
        ).message.count("withdrawn=") == 1


def test_manager_chooses_the_push_level(client, city, db):  # type: ignore[no-untyped-def]  # noqa: F811
    login(client, "dept-viewer")
    assert client.get("/d/hn/dhis2").status_code == 403
    client.post("/logout")
    other = client.application.test_client()
    login(other, "dept-manager")
    page = other.get("/d/hn/dhis2").get_data(as_text=True)
    assert "the department&#39;s totals" in page or "the department's totals" in page
    response = post_form(other, "/d/hn/dhis2", {"url": "http://127.0.0.1:9/api/dataValueSets",
                                                "enabled": "y", "level": "department"},
                         page="/d/hn/dhis2")
    assert response.status_code == 302
    assert dhis2.settings_for(_hn(db)).level == "department"
    bad = post_form(other, "/d/hn/dhis2", {"url": "http://127.0.0.1:9/x", "level": "province"},
                    page="/d/hn/dhis2")
    assert bad.status_code == 400 and "http://127.0.0.1:9/x" in bad.get_data(as_text=True)
    assert other.get("/d/hcm/dhis2").status_code == 404  # another city: as if it did not exist
