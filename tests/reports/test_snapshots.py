"""Snapshots: suppressed for the department, versioned only when values change, immutable;
the monthly fan-out by each group's local time; the DHIS2 push against a local server."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import func, select, text

from harmnet.models import Dhis2Push, PeerGroup, ReportSnapshot
from harmnet.services import dhis2, reports
from tests.conftest import requires_pg


def month_with_small_counts(b):  # type: ignore[no-untyped-def]
    clients = [b.client("F", "18-24") for _ in range(6)] + [b.client("M", "25-34")]
    contacts = [b.contact(date(2024, 5, 3 + i), c) for i, c in enumerate(clients)]
    b.referral(contacts[0], "hiv_test", date(2024, 5, 3))
    return clients, contacts


def snapshots_of(db, group_id, period="2024-05"):  # type: ignore[no-untyped-def]
    return list(db.session.scalars(
        select(ReportSnapshot).where(ReportSnapshot.group_id == group_id,
                                     ReportSnapshot.period == period)
        .order_by(ReportSnapshot.version)))


def test_snapshot_is_suppressed_and_versioned_only_on_change(db, make_group, builder):  # type: ignore[no-untyped-def]
    group = make_group()
    b = builder(group)
    clients, contacts = month_with_small_counts(b)
    db.session.commit()

    preview = reports.compute_group(group.id, "2024-05")
    assert preview["reached"]["M:25-34"] == 1  # the coordinator sees the real count
    snap, created = reports.build_snapshot(group.id, "2024-05")
    db.session.commit()
    assert created and snap.version == 1
    values = snap.payload["values"]
    assert values["reached"]["total"] == 7
    assert values["reached"]["F:18-24"] is None  # complementary: else 7 - 1 gives it away
    assert values["reached"]["M:25-34"] is None
    assert values["referred"]["hiv_test"] is None
    assert values["contacts"]["total"] == 7
    assert len(snap.checksum) == 64 and snap.checksum == reports.checksum(snap.payload)

    again, created = reports.build_snapshot(group.id, "2024-05")
    db.session.commit()
    assert not created and again.id == snap.id

    # A late referral that changes only a suppressed count (1 -> 2) changes nothing sent...
    b.referral(contacts[1], "hiv_test", date(2024, 5, 4))
    db.session.commit()
    assert reports.build_snapshot(group.id, "2024-05")[1] is False
    # ...a late correction that changes published values writes version 2, keeping v1.
    for _ in range(4):
        b.contact(date(2024, 5, 21), b.client("M", "25-34"))
    db.session.commit()
    v2, created = reports.build_snapshot(group.id, "2024-05", "refresh")
    db.session.commit()
    assert created and v2.version == 2 and v2.reason == "refresh"
    assert v2.payload["values"]["reached"]["M:25-34"] == 5
    assert v2.payload["values"]["reached"]["F:18-24"] == 6
    versions = snapshots_of(db, group.id)
    assert [s.version for s in versions] == [1, 2]
    assert versions[0].payload["values"]["reached"]["total"] == 7


def test_threshold_is_a_department_setting(db, make_group, builder):  # type: ignore[no-untyped-def]
    from harmnet.models import Department

    group = make_group()
    month_with_small_counts(builder(group))
    department = db.session.get(Department, group.department_id)
    department.suppression_threshold = 10
    db.session.commit()
    snap, _ = reports.build_snapshot(group.id, "2024-05")
    assert snap.payload["threshold"] == 10
    assert snap.payload["values"]["reached"]["total"] is None  # 7 < 10
    assert snap.payload["values"]["contacts"]["total"] == 7  # not a person count


@requires_pg
def test_postgres_refuses_to_update_a_snapshot(db, make_group, database):  # type: ignore[no-untyped-def]
    group = make_group()
    reports.build_snapshot(group.id, "2024-05")
    db.session.commit()
    with database.owner_engine.connect() as conn, pytest.raises(Exception, match="immutable"):
        conn.execute(text("UPDATE report_snapshots SET payload = '{}'"))


def test_fanout_runs_at_two_on_day_one_in_each_groups_timezone(db, make_group):  # type: ignore[no-untyped-def]
    hanoi = make_group("ha-noi")
    london = make_group("london")
    london.timezone = "Europe/London"
    db.session.commit()
    reports.build_snapshot(london.id, "2024-04")  # London already reported April
    db.session.commit()

    # 19:30 UTC on 31 May is 02:30 on 1 June in Hanoi, 20:30 on 31 May in London.
    due = reports.groups_due(datetime(2024, 5, 31, 19, 30, tzinfo=UTC))
    assert due == [(hanoi.id, "2024-05")]
    # 01:30 UTC on 1 June is 02:30 in London (BST): London is due for May.
    reports.build_snapshot(hanoi.id, "2024-05")
    db.session.commit()
    due = reports.groups_due(datetime(2024, 6, 1, 1, 30, tzinfo=UTC))
    assert due == [(london.id, "2024-05")]
    # A later hour: nothing is missing, nothing is due.
    reports.build_snapshot(london.id, "2024-05")
    db.session.commit()
    assert reports.groups_due(datetime(2024, 6, 1, 9, 0, tzinfo=UTC)) == []


def test_fanout_task_writes_one_snapshot_per_group(db, make_group):  # type: ignore[no-untyped-def]
    from worker.tasks.reports import monthly_fanout

    ids = {make_group().id for _ in range(3)}
    at = "2026-06-10T05:00:00+00:00"  # 12:00 in Hà Nội: no month closes, no daily look
    assert monthly_fanout(at) == 3  # nobody reported last month yet: every group catches up
    db.session.remove()
    count = db.session.scalar(select(func.count()).select_from(ReportSnapshot))
    assert count == 3 * len(reports.published_set("2026-05", 1))
    assert {s.group_id for s in db.session.scalars(select(ReportSnapshot))} == ids
    assert monthly_fanout(at) == 0


def test_a_group_catching_up_at_the_daily_look_is_closed_once(db, make_group):  # type: ignore[no-untyped-def]
    from worker.tasks.reports import monthly_fanout

    ids = sorted(make_group().id for _ in range(2))
    # 20:30 UTC is 03:30 in Hà Nội, the hour of the daily look for late corrections; the
    # groups have not reported May yet. Before, each was enqueued twice (catch-up and look).
    at = datetime(2026, 6, 9, 20, 30, tzinfo=UTC)
    assert sorted(reports.work_due(at)) == [(i, "2026-05", "monthly") for i in ids]
    assert monthly_fanout(at.isoformat()) == 2
    db.session.remove()
    # Reported now: the same hour finds only the daily look, once per group.
    assert sorted(reports.work_due(at)) == [(i, "2026-05", "revision") for i in ids]


class _Dhis2Handler(BaseHTTPRequestHandler):
    received: list = []
    answers: list = []

    def do_POST(self):  # type: ignore[no-untyped-def]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, dict(self.headers), json.loads(body)))
        status = type(self).answers.pop(0) if type(self).answers else 200
        payload = {"status": "OK", "response": {"status": "SUCCESS", "importCount": {
            "imported": 3, "updated": 0, "ignored": 0, "deleted": 0}}}
        data = json.dumps(payload if status == 200 else {"status": "ERROR"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # type: ignore[no-untyped-def]
        pass


@pytest.fixture
def dhis2_server():  # type: ignore[no-untyped-def]
    _Dhis2Handler.received = []
    _Dhis2Handler.answers = []
    server = HTTPServer(("127.0.0.1", 0), _Dhis2Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _Dhis2Handler
    server.shutdown()
    server.server_close()


def test_new_snapshot_is_pushed_with_retries(db, make_group, builder, dhis2_server):  # type: ignore[no-untyped-def]
    from worker.tasks.reports import build_group_snapshot

    server, handler = dhis2_server
    group = make_group("push-me")
    group_id = group.id
    month_with_small_counts(builder(group))
    url = f"http://127.0.0.1:{server.server_address[1]}/api/dataValueSets"
    dhis2.save_settings(group.department_id, url, "harmnet", "s3cret-pass", True)
    db.session.commit()
    handler.answers = [503]  # the first attempt meets a server error, the retry succeeds

    build_group_snapshot.apply_async((group.id, "2024-05", "monthly")).get()
    db.session.remove()
    # One push per new snapshot of the published set (Jan-May, Q1, Q2, 2024 so far).
    assert sorted({v["period"] for _, _, b in handler.received for v in b["dataValues"]}) == [
        "2024", "202401", "202402", "202403", "202404", "202405", "2024Q1", "2024Q2"]
    may = [r for r in handler.received
           if {v["period"] for v in r[2]["dataValues"]} == {"202405"}]
    assert len(handler.received) == 8 + 1  # the first request met the 503 and was retried
    assert may
    sent = len(handler.received)
    path, headers, body = may[-1]
    assert "idScheme=CODE" in path
    assert headers["Authorization"].startswith("Basic ")
    assert set(body) == {"dataSet", "completeDate", "dataValues"}
    values = body["dataValues"]
    assert values and all(set(v) == {"dataElement", "period", "orgUnit",
                                     "categoryOptionCombo", "value"} for v in values)
    assert {v["orgUnit"] for v in values} == {"PUSH_ME"}
    assert {v["period"] for v in values} == {"202405"}
    contacts = [v for v in values if v["dataElement"] == "HN_CONTACTS"]
    assert contacts == [{"dataElement": "HN_CONTACTS", "period": "202405", "orgUnit": "PUSH_ME",
                         "categoryOptionCombo": "default", "value": "7"}]
    # Suppressed cells are left out, never sent as 0.
    assert not [v for v in values if v["dataElement"] == "HN_REFERRED"
                and v["categoryOptionCombo"] == "HIV_TEST"]
    push = db.session.scalar(select(Dhis2Push).where(Dhis2Push.attempts == 2))
    assert push.status == "ok" and push.http_status == 200
    assert "imported=3" in push.message

    # Unchanged values: no new version, no new push.
    build_group_snapshot.apply_async((group_id, "2024-05", "refresh")).get()
    assert len(handler.received) == sent


def test_push_gives_up_on_a_client_error(db, make_group, dhis2_server):  # type: ignore[no-untyped-def]
    from worker.tasks.reports import build_group_snapshot

    server, handler = dhis2_server
    group = make_group()
    group_id = group.id
    url = f"http://127.0.0.1:{server.server_address[1]}/api/dataValueSets"
    dhis2.save_settings(group.department_id, url, "", None, True)
    db.session.commit()
    handler.answers = [409]
    build_group_snapshot.apply_async((group.id, "2024-05")).get()
    db.session.remove()
    push = db.session.scalar(select(Dhis2Push))
    assert push.status == "failed" and push.attempts == 1 and push.http_status == 409
    assert db.session.get(PeerGroup, group_id) is not None
