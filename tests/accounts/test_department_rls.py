"""Row-level security on the department-level tables, as the app role (not the owner)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import ProgrammingError

from harmnet import tenancy
from harmnet.models import ReportSnapshot, Target
from harmnet.services import reports


@pytest.fixture
def two_departments(db, database, make_department, make_group):  # type: ignore[no-untyped-def]
    if not database.is_postgres:
        pytest.skip("row-level security is PostgreSQL's")
    city, other = make_department("city"), make_department("other")
    district = make_department("district", parent="city")
    groups = [make_group("g-city", department="city"), make_group("g-district", "district"),
              make_group("g-other", department="other")]
    with tenancy.reports_context():  # as the monthly job writes them
        for group in groups:
            reports.build_snapshot(group.id, "2024-05")
        reports.set_targets(city.id, 2024, {"contacts": 10})
        reports.set_targets(other.id, 2024, {"contacts": 20})
    db.session.commit()
    return city, district, other, groups


def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_department_reads_its_subtree_and_nothing_else(db, database, two_departments):
    city, district, other, groups = two_departments
    assert _count(db, ReportSnapshot) == 0 and _count(db, Target) == 0  # no context: nothing
    db.session.rollback()
    tenancy.set_departments([city.id, district.id])
    try:
        seen = set(db.session.scalars(select(ReportSnapshot.group_id)))
        assert seen == {groups[0].id, groups[1].id}
        # text() SQL, which the ORM filter never sees, is held by the database itself.
        raw = db.session.scalar(text("SELECT count(*) FROM report_snapshots"))
        with database.owner_engine.connect() as conn:  # the owner sees past the policy
            ours = conn.scalar(text("SELECT count(*) FROM report_snapshots"
                                    " WHERE department_id IN (:c, :d)"),
                               {"c": city.id, "d": district.id})
            everyone = conn.scalar(text("SELECT count(*) FROM report_snapshots"))
        assert raw == ours < everyone
        assert set(db.session.scalars(select(Target.department_id))) == {city.id}
        db.session.rollback()
        # Writing another department's row is refused.
        with pytest.raises(ProgrammingError):
            db.session.execute(text(
                "INSERT INTO targets (department_id, indicator, year, value)"
                " VALUES (:d, 'contacts', 2025, 1)"), {"d": other.id})
    finally:
        db.session.rollback()
        tenancy.set_departments(None)


def test_a_group_reads_its_own_snapshots_only(db, two_departments):
    _city, _district, _other, groups = two_departments
    with tenancy.group_context(groups[0].id):
        assert set(db.session.scalars(select(ReportSnapshot.group_id))) == {groups[0].id}
        assert _count(db, Target) == 0
    db.session.rollback()


def test_a_district_page_reads_nothing_of_the_city(client, db, two_departments, login_as):
    _city, district, _other, groups = two_departments
    login_as("viewer", department=district)
    page = client.get("/d/district/groups?p=2024-05")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Group g-district" in body
    assert "Group g-city" not in body and "Group g-other" not in body
    assert client.get(f"/d/district/history/{groups[0].id}/2024-05").status_code == 404
