"""The coordinator's monthly report: the real numbers of their own group, and what was sent."""

from __future__ import annotations

from harmnet.services import reports
from tests.support import login


def test_coordinator_sees_unsuppressed_preview_and_what_was_sent(client, two_groups, builder, db):  # type: ignore[no-untyped-def]
    a, b, _ = two_groups
    ba = builder(a)
    today = reports.local_now(a.timezone).date()
    ba.contact(today, ba.client("M", "25-34"), condoms=3)
    builder(b).contact(today, builder(b).client(), condoms=77)
    db.session.commit()
    snap, _ = reports.build_snapshot(a.id, reports.month_of(today))
    db.session.commit()
    login(client, "a-coord")
    page = client.get("/g/group-a/reports/").get_data(as_text=True)
    assert "Nam 25-34" in page or "Male 25-34" in page  # the 1 person is shown to the group
    assert ">3<" in page and ">77<" not in page  # not group B's (a random token may hold "77")
    sent = client.get(f"/g/group-a/reports/sent/{snap.id}").get_data(as_text=True)
    assert "<abbr" in sent  # the same person is hidden in what the department got
    assert client.get("/g/group-a/reports/?month=nope").status_code == 400


def test_other_groups_snapshots_and_pages_are_404(client, two_groups, db):  # type: ignore[no-untyped-def]
    a, b, _ = two_groups
    snap_b, _ = reports.build_snapshot(b.id, "2024-05")
    db.session.commit()
    login(client, "a-coord")
    assert client.get(f"/g/group-a/reports/sent/{snap_b.id}").status_code == 404
    assert client.get("/g/group-b/reports/").status_code == 404


def test_peer_educator_gets_403(client, two_groups):  # type: ignore[no-untyped-def]
    login(client, "a-peer")
    assert client.get("/g/group-a/reports/").status_code == 403
    assert client.get("/g/group-a/reports/sent/1").status_code == 403
