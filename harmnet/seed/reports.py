"""Demo report snapshots: every demo month of every group, computed from whatever records the
other seed steps made (it runs after them), plus a few yearly targets for Hà Nội."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from .. import tenancy
from ..extensions import db
from ..models import Contact, Department, PeerGroup, Target
from ..services import reports

#: At most this many months back are reported in the demo.
MAX_MONTHS = 12
DEMO_TARGETS = {"contacts": 600, "reached": 300, "reached_first_time": 200, "referred": 120,
                "trainings_held": 8, "condoms": 5000}


def _first_month(group_id: int, fallback: str) -> str:
    with tenancy.group_context(group_id):
        first = db.session.scalar(select(func.min(Contact.occurred_on)))
    return reports.month_of(first) if first else fallback


def seed(password: str) -> None:  # noqa: ARG001 - every seed step has this signature
    with tenancy.reports_context():  # snapshots and targets of every department
        _seed()


def _seed() -> None:
    today = date.today()
    last = reports.previous_month(today)
    oldest = reports.add_months(last, -(MAX_MONTHS - 1))
    for group_id in db.session.scalars(select(PeerGroup.id).order_by(PeerGroup.id)):
        month = max(_first_month(group_id, reports.add_months(last, -2)), oldest)
        while month <= last:
            # Unchanged values keep their version, so running the seed twice adds nothing.
            reports.build_snapshot(group_id, month, "seed")
            month = reports.add_months(month, 1)
    hanoi = db.session.scalar(select(Department).where(Department.code == "hn"))
    if hanoi is not None and db.session.scalar(
        select(Target.id).where(Target.department_id == hanoi.id, Target.year == today.year)
    ) is None:
        reports.set_targets(hanoi.id, today.year, dict(DEMO_TARGETS))
    db.session.flush()
