"""Reports: the hourly fan-out (months closing, and the daily look for late corrections),
the snapshot tasks, DHIS2 pushes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import wraps

from celery import shared_task

from harmnet import tenancy
from harmnet.extensions import db
from harmnet.models import ReportSnapshot
from harmnet.services import dhis2, report_batch
from harmnet.services import reports as service

log = logging.getLogger(__name__)
QUEUE = "reports"


def _report_job(task):  # type: ignore[no-untyped-def]
    """Run a report task in the report jobs' context: row-level security admits the
    department-level tables of every department to it (snapshots, DHIS2 settings, pushes)."""

    @wraps(task)
    def run(*args, **kwargs):  # type: ignore[no-untyped-def]
        with tenancy.reports_context():
            return task(*args, **kwargs)

    return run


@shared_task(name="worker.tasks.reports.monthly_fanout")
@_report_job
def monthly_fanout(at: str | None = None) -> int:
    """Hourly: enqueue the previous month's snapshot of every group whose local time is
    02:xx on day 1 (or that missed it). Reads only ids and timezones. `at` (ISO 8601, with
    its offset) replays the fan-out of another hour, e.g. one the worker missed."""
    now = datetime.fromisoformat(at) if at else datetime.now(UTC)
    try:
        # Once a day per group (03:xx local), the published periods of the year so far are
        # recomputed: a late correction to a closed period makes a new version by itself.
        due = service.work_due(now)
    finally:
        db.session.rollback()
    if report_batch.reports_engine() is not None:
        # One set-based task per month for all due groups (REPORTS_DATABASE_URL is set).
        by_period: dict[tuple[str, str], list[int]] = {}
        for group_id, period, reason in due:
            by_period.setdefault((period, reason), []).append(group_id)
        for (period, reason), group_ids in sorted(by_period.items()):
            build_period_snapshots.apply_async((group_ids, period, reason), queue=QUEUE)
        return len(due)
    for group_id, period, reason in due:
        build_group_snapshot.apply_async((group_id, period, reason), queue=QUEUE)
    return len(due)


@shared_task(name="worker.tasks.reports.build_period_snapshots")
@_report_job
def build_period_snapshots(group_ids: list[int], period: str, reason: str = "monthly") -> int:
    """Compute one month of many groups with set-based SQL through the reports engine and
    store a version per group whose values changed; without that engine, one task per group.
    Returns the number of new versions (or of tasks enqueued on the fallback)."""
    try:
        outcomes = report_batch.build_snapshots(group_ids, period, reason)
        if outcomes is None:
            db.session.rollback()
            for group_id in group_ids:
                build_group_snapshot.apply_async((group_id, period, reason), queue=QUEUE)
            return len(group_ids)
        pushes = dhis2.start_pushes([db.session.get(ReportSnapshot, outcome.snapshot_id)
                                     for outcome in outcomes if outcome.created])
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    created = sum(o.created for o in outcomes)
    log.info("report snapshots period=%s groups=%s created=%s", period, len(outcomes), created)
    for push_id in pushes:
        push_to_dhis2.apply_async((push_id,), queue=QUEUE)
    return created


@shared_task(name="worker.tasks.reports.build_group_snapshot")
@_report_job
def build_group_snapshot(group_id: int, period: str, reason: str = "monthly") -> int | None:
    """Close one group-month under its tenant context: store a version of each published
    period (month, quarter and year to date, the year's earlier periods) that changed; then
    push the new versions to every department that asked for DHIS2 pushes. Returns the
    month's new snapshot id, or None when it did not change."""
    try:
        results = service.close_month(group_id, period, reason)
        pushes = dhis2.start_pushes([snapshot for snapshot, created in results if created])
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    created_ids = {s.period: s.id for s, created in results if created}
    log.info("report snapshots group=%s month=%s created=%s", group_id, period,
             len(created_ids))
    for push_id in pushes:
        push_to_dhis2.apply_async((push_id,), queue=QUEUE)
    return created_ids.get(period)


@shared_task(name="worker.tasks.reports.push_to_dhis2", bind=True,
             max_retries=dhis2.MAX_ATTEMPTS - 1)
@_report_job
def push_to_dhis2(self, push_id: int) -> bool:  # type: ignore[no-untyped-def]
    try:
        outcome = dhis2.attempt(push_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    log.info("dhis2 push=%s ok=%s status=%s", push_id, outcome.ok, outcome.http_status)
    if outcome.retry:
        countdown = 0 if self.request.is_eager else 60 * 2 ** self.request.retries
        raise self.retry(countdown=countdown)
    return outcome.ok
