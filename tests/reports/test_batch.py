"""The monthly job's set-based path gives exactly the per-group path's values, cell by cell,
and writes the same snapshots; on PostgreSQL it reads through the narrow reports role."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, make_url, select, text

from harmnet.indicators import AGE_BANDS, SERVICES
from harmnet.models import Department, PeerGroup, ReportSnapshot
from harmnet.services import report_batch, reports
from tests.conftest import requires_pg
from tests.reports.test_compute import build_golden_month

REPORTS_ROLE = "harmnet_reports_test"


@pytest.fixture(scope="module")
def reports_engine(database):  # type: ignore[no-untyped-def]
    """SQLite has no row-level security: the same file. PostgreSQL: the reports role."""
    if database.is_postgres:
        from harmnet.cli import grant_reports_role

        grant_reports_role(database.owner_url, REPORTS_ROLE)
        url = make_url(database.owner_url).set(username=REPORTS_ROLE, password=None)
    else:
        url = make_url(database.owner_url)
    engine = create_engine(url)
    yield engine
    engine.dispose()


def batch_sets(engine, ids, period):  # type: ignore[no-untyped-def]
    """Every published period of each group when `period` closes, by the batch path."""
    setups = report_batch.group_setups(ids)
    with engine.connect() as conn:
        return report_batch.compute_all(conn, list(setups.values()), period)


def batch_values(engine, ids, period):  # type: ignore[no-untyped-def]
    return {gid: by_key[period] for gid, by_key in batch_sets(engine, ids, period).items()}


def assert_same(engine, ids, periods):  # type: ignore[no-untyped-def]
    """Both paths give the same values of every period published when a month closes
    (the month, its quarter and year to date, the year's earlier months and quarters)."""
    for period in periods:
        batched = batch_sets(engine, ids, period)
        assert set(batched) == set(ids)
        for gid in ids:
            spans, per_group = reports.compute_group_set(gid, period)
            assert set(batched[gid]) == {s.key for s in spans}
            for key, values in per_group.items():
                for code, cells in values.items():
                    for cell, value in cells.items():
                        assert batched[gid][key][code][cell] == value, (gid, key, code, cell)
            assert batched[gid][period] == reports.compute_group(gid, period)


@pytest.fixture
def golden_pair(db, make_group, builder):  # type: ignore[no-untyped-def]
    group = make_group("golden")
    build_golden_month(builder(group))
    other = make_group("other")
    ob = builder(other)
    client = ob.client("M", "<18")
    ob.contact(date(2024, 5, 3), client, condoms=999)
    ob.contact(date(2024, 1, 3), client)
    ob.member("Khác")
    db.session.commit()
    return [group.id, other.id]


def test_golden_month_both_paths_agree(db, golden_pair, reports_engine
                                       ):  # type: ignore[no-untyped-def]
    assert_same(reports_engine, golden_pair, ["2024-04", "2024-05", "2024-06", "2023-12"])
    golden = batch_values(reports_engine, golden_pair, "2024-05")[golden_pair[0]]
    assert golden["reached_first_time"]["total"] == 5  # the hand-computed figure
    assert golden["contacts"]["total"] == 10


def test_golden_month_fiscal_year_both_paths_agree(db, golden_pair, reports_engine
                                                   ):  # type: ignore[no-untyped-def]
    group = db.session.get(PeerGroup, golden_pair[0])
    db.session.get(Department, group.department_id).fiscal_year_start_month = 5
    db.session.commit()
    assert_same(reports_engine, golden_pair, ["2024-05", "2024-06"])


def build_random(b, rnd: random.Random) -> None:  # type: ignore[no-untyped-def]
    """A year of noisy activity: sexes, bands and unknowns, deleted contacts, sessions,
    referrals completed now or later, appointments around month ends, trainings, members."""
    sexes = ["F", "M", "T", None]
    clients = [b.client(rnd.choice(sexes), rnd.choice([*AGE_BANDS, None]))
               for _ in range(rnd.randint(3, 12))]
    start = date(2023, 11, 1)
    contacts = []
    for _ in range(rnd.randint(10, 60)):
        on = start + timedelta(days=rnd.randint(0, 300))
        if rnd.random() < 0.15:
            k = b.contact(on, None, "group_session", participants_count=rnd.randint(0, 20),
                          condoms=rnd.randint(0, 30), deleted=rnd.random() < 0.1)
        else:
            k = b.contact(on, rnd.choice(clients),
                          rnd.choice(["in_person", "zalo", "messenger", "phone", "other"]),
                          deleted=rnd.random() < 0.15, condoms=rnd.randint(0, 10),
                          lubricants=rnd.randint(0, 3), leaflets=rnd.randint(0, 2),
                          self_test_kits=rnd.randint(0, 1))
        contacts.append(k)
    referrals = []
    for _ in range(rnd.randint(0, 25)):
        k = rnd.choice(contacts)
        status = rnd.choice(["referred", "completed", "declined", "completed"])
        done = k.occurred_on + timedelta(days=rnd.randint(0, 45)) if status == "completed" \
            else None
        referrals.append(b.referral(k, rnd.choice(SERVICES[:5]), k.occurred_on, status, done))
    for r in rnd.sample(referrals, min(len(referrals), 6)):
        at = datetime.combine(r.referred_on, datetime.min.time(), UTC) \
            + timedelta(hours=rnd.randint(-12, 60))
        b.appointment(r, at, rnd.choice(["attended", "missed", "scheduled"]))
    members = [
        b.member(f"M{i}", role=rnd.choice(["peer_educator", "volunteer"]),
                 status=rnd.choice(["active", "left", "paused"]),
                 joined=rnd.choice([None, start + timedelta(days=rnd.randint(-100, 200))]),
                 paused=rnd.choice([None, start + timedelta(days=rnd.randint(0, 250))]),
                 left=rnd.choice([None, start + timedelta(days=rnd.randint(0, 250))]))
        for i in range(rnd.randint(1, 6))
    ]
    for r in referrals:  # test results, confirmations and linkages (issue 21)
        if r.service != "hiv_test" or rnd.random() < 0.3:
            continue
        k = next(c for c in contacts if c.id == r.contact_id)
        tested_on = r.referred_on + timedelta(days=rnd.randint(0, 20))
        result = rnd.choice(["non_reactive", "reactive", "reactive", "indeterminate"])
        confirmed_on = tested_on + timedelta(days=rnd.randint(0, 15)) \
            if result == "reactive" and rnd.random() < 0.8 else None
        kind = "treatment" if confirmed_on else ("prep" if result == "non_reactive" else None)
        opened = confirmed_on or tested_on
        started = opened + timedelta(days=rnd.randint(0, 60)) \
            if kind and rnd.random() < 0.7 else None
        b.test_result(k, r, tested=True, tested_on=tested_on, result=result,
                      confirm_result="reactive" if confirmed_on else None,
                      confirmed_on=confirmed_on, linkage=kind,
                      linkage_status=("linked" if started else "open") if kind else None,
                      linkage_opened_on=opened if kind else None, linkage_on=started)
    for k in contacts:
        if k.self_test_kits and rnd.random() < 0.5:
            b.test_result(k, tested_on=k.occurred_on + timedelta(days=rnd.randint(0, 30)),
                          result=rnd.choice(["non_reactive", "reactive", "not_disclosed"]))
    for _ in range(rnd.randint(0, 5)):
        t = b.training(datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=rnd.randint(0, 5000)),
                       rnd.choice([45, 60, 90, 120]), rnd.choice(["held", "held", "planned"]))
        for m in rnd.sample(members, rnd.randint(0, len(members))):
            b.attend(t, m, rnd.choice(["attended", "absent"]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_groups_both_paths_agree(db, make_group, builder, reports_engine, seed
                                        ):  # type: ignore[no-untyped-def]
    rnd = random.Random(seed)
    groups = [make_group(f"rand-{seed}-{i}") for i in range(3)]
    if seed == 2:  # a second reporting year start, and a second timezone, in the same batch
        db.session.get(Department, groups[1].department_id).fiscal_year_start_month = 4
        groups[2].timezone = "UTC"
    for group in groups:
        build_random(builder(group), rnd)
    db.session.commit()
    ids = [g.id for g in groups]
    assert_same(reports_engine, ids, ["2024-01", "2024-03", "2024-04", "2024-06", "2024-08"])


def test_build_snapshots_writes_what_the_per_group_path_writes(db, golden_pair, reports_engine,
                                                               builder
                                                               ):  # type: ignore[no-untyped-def]
    golden, other = golden_pair
    outcomes = report_batch.build_snapshots(golden_pair, "2024-05", "monthly", reports_engine)
    db.session.commit()
    assert sorted((o.group_id, o.version, o.created) for o in outcomes
                  if o.period == "2024-05") == [(golden, 1, True), (other, 1, True)]
    # Each group's published set: Jan-May, Q1, Q2 to date, 2024 to date.
    assert sorted({o.period for o in outcomes}) == [
        "2024", "2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-Q1", "2024-Q2"]
    batch_payload = reports.latest_snapshot(golden, "2024-05").payload
    # The per-group path finds nothing to change: same suppressed values, same checksum.
    snapshot, created = reports.build_snapshot(golden, "2024-05", "refresh")
    db.session.commit()
    assert not created and snapshot.version == 1
    assert snapshot.payload == batch_payload
    assert batch_payload["values"]["reached"]["total"] == 7
    assert batch_payload["values"]["reached"]["F:18-24"] is None  # 2 people: suppressed
    # A late correction: a new version for that group only, on the next run.
    group = db.session.get(PeerGroup, golden)
    builder(group).contact(date(2024, 5, 9), None, "group_session",
                                        participants_count=3)
    db.session.commit()
    outcomes = report_batch.build_snapshots(golden_pair, "2024-05", "monthly", reports_engine)
    db.session.commit()
    assert sorted((o.group_id, o.period, o.version) for o in outcomes if o.created) == [
        (golden, "2024", 2), (golden, "2024-05", 2), (golden, "2024-Q2", 2)]
    assert reports.latest_snapshot(golden, "2024-05").changed == [
        "contacts", "group_sessions", "group_session_participants"]
    versions = db.session.scalars(
        select(ReportSnapshot.version).where(ReportSnapshot.group_id == golden,
                                             ReportSnapshot.period == "2024-05")
        .order_by(ReportSnapshot.version)).all()
    assert versions == [1, 2]


def test_without_a_reports_engine_the_job_falls_back(db, app, golden_pair
                                                     ):  # type: ignore[no-untyped-def]
    assert app.config.get("REPORTS_DATABASE_URL") is None
    assert report_batch.build_snapshots(golden_pair, "2024-05") is None


@requires_pg
def test_reports_role_reads_across_groups_but_writes_nothing(db, golden_pair, reports_engine
                                                            ):  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import ProgrammingError

    with reports_engine.connect() as conn:
        groups = conn.scalar(text("SELECT count(DISTINCT group_id) FROM contacts"))
        assert groups == 2
        for statement in ("INSERT INTO report_snapshots (department_id, group_id, period, "
                          "version, status, payload, checksum, reason, generated_at) "
                          "VALUES (1, 1, '2024-05', 9, 'final', '{}', 'x', 'x', now())",
                          "SELECT count(*) FROM users",
                          "DELETE FROM contacts"):
            with pytest.raises(ProgrammingError, match="permission denied"):
                conn.execute(text(statement))
            conn.rollback()


def test_fanout_with_the_reports_engine_runs_one_batch(db, app, make_group, builder,
                                                       reports_engine
                                                       ):  # type: ignore[no-untyped-def]
    from sqlalchemy import func

    from worker.tasks.reports import build_period_snapshots, monthly_fanout

    groups = [make_group() for _ in range(3)]
    ids = [g.id for g in groups]
    at = "2026-06-10T05:00:00+00:00"  # 12:00 in Hà Nội: no month closes, no daily look
    period = "2026-05"
    start, _ = reports.month_bounds(period)
    b = builder(groups[0])
    b.contact(start + timedelta(days=2), b.client("F", "25-34"), condoms=7)
    db.session.commit()
    app.config["REPORTS_DATABASE_URL"] = reports_engine.url.render_as_string(
        hide_password=False)
    try:
        assert monthly_fanout(at) == 3
        db.session.remove()
        snapshots = list(db.session.scalars(select(ReportSnapshot)))
        assert {s.group_id for s in snapshots} == set(ids)
        spans = reports.published_set(period, 1)
        assert {s.period for s in snapshots} == {s.key for s in spans}
        by_group = {s.group_id: s.payload["values"] for s in snapshots if s.period == period}
        assert by_group[ids[0]]["condoms"]["total"] == 7
        assert by_group[ids[0]]["reached"]["total"] is None  # one person: suppressed
        assert monthly_fanout(at) == 0
        # Run again on demand: values unchanged, no new version.
        assert build_period_snapshots.apply_async(
            (ids, period, "refresh")).get() == 0
        assert db.session.scalar(select(func.count()).select_from(ReportSnapshot)) == \
            3 * len(spans)
    finally:
        app.config["REPORTS_DATABASE_URL"] = None
        app.extensions.pop("harmnet_reports_engine", None)
