"""The coordinator's overview: active members by role, trainings this month, attendance rate,
members with no training in six months; and training hours on the member page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from harmnet.services import trainings
from tests.support import in_group


def test_overview_figures(client, coordinator, db, add_member, add_training, invite_to):
    group, _ = coordinator
    a = add_member(group, "An", role_in_group="peer_educator")
    b = add_member(group, "Bình", role_in_group="peer_educator")
    c = add_member(group, "Cúc", role_in_group="volunteer")
    add_member(group, "Dung", role_in_group="volunteer", status="left")
    recent = add_training(group, days=-10, duration_minutes=90)
    old = add_training(group, days=-300, duration_minutes=120)
    invite_to(group, recent, [a, b, c])
    invite_to(group, old, [c])
    now = datetime.now(UTC)
    with in_group(group.id):
        t = trainings.get(recent)
        trainings.record_roll_call(t, {a: "attended", b: "attended", c: "absent"}, now=now,
                                   tz=group.timezone)
        trainings.record_roll_call(trainings.get(old), {c: "attended"}, now=now,
                                   tz=group.timezone)
        db.session.commit()
    page = client.get("/g/hoa-sen/members/overview").get_data(as_text=True)
    stats = re.findall(r"<li><strong>([^<]+)</strong>([^<]+)</li>", page)
    figures = {label.strip(): value for value, label in stats}
    assert figures["Peer educator"] == "2" and figures["Volunteer"] == "1"
    assert figures["attendance rate, last 3 months"] == "67%"
    # Cúc trained 300 days ago only: listed as idle; An and Bình are not.
    idle = page.split("No training in six months", 1)[1]
    assert "Cúc" in idle and "An<" not in idle and "Bình" not in idle
    # The month count follows the group's calendar month.
    start, end = trainings.month_bounds(trainings.utc_to_local(now, group.timezone).date(),
                                        group.timezone)
    expected = sum(1 for d in (-10, -300) if start <= now + timedelta(days=d) < end)
    assert figures["trainings this month"] == str(expected)
    profile = client.get(f"/g/hoa-sen/members/{a}").get_data(as_text=True)
    assert "1.5" in profile  # 90 minutes attended
