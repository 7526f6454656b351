"""Monthly reports: the hourly fan-out, one snapshot task per group, DHIS2 pushes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from celery import shared_task

from harmnet.extensions import db
from harmnet.models import ReportSnapshot
from harmnet.services import dhis2, report_batch
from harmnet.services import reports as service

log = logging.getLogger(__name__)
QUEUE = "reports"


@shared_task(name="worker.tasks.reports.monthly_fanout")
def monthly_fanout() -> int:
    """Hourly: enqueue the previous month's snapshot of every group whose local time is
    02:xx on day 1 (or that missed it). Reads only ids and timezones."""
    try:
        due = service.groups_due(datetime.now(UTC))
    finally:
        db.session.rollback()
    if report_batch.reports_engine() is not None:
        # One set-based task per month for all due groups (REPORTS_DATABASE_URL is set).
        by_period: dict[str, list[int]] = {}
        for group_id, period in due:
            by_period.setdefault(period, []).append(group_id)
        for period, group_ids in sorted(by_period.items()):
            build_period_snapshots.apply_async((group_ids, period, "monthly"), queue=QUEUE)
        return len(due)
    for group_id, period in due:
        build_group_snapshot.apply_async((group_id, period, "monthly"), queue=QUEUE)
    return len(due)


@shared_task(name="worker.tasks.reports.build_period_snapshots")
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
        pushes = []
        for outcome in outcomes:
            if outcome.created:
                snapshot = db.session.get(ReportSnapshot, outcome.snapshot_id)
                pushes += [dhis2.start_push(dept, snapshot.id).id
                           for dept in dhis2.push_targets(snapshot)]
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
def build_group_snapshot(group_id: int, period: str, reason: str = "monthly") -> int | None:
    """Compute one group-month under its tenant context and store a version if it changed;
    then push the new version to every department that asked for DHIS2 pushes."""
    try:
        snapshot, created = service.build_snapshot(group_id, period, reason)
        pushes = []
        if created:
            pushes = [dhis2.start_push(dept, snapshot.id).id
                      for dept in dhis2.push_targets(snapshot)]
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    log.info("report snapshot group=%s period=%s version=%s created=%s", group_id, period,
             snapshot.version, created)
    for push_id in pushes:
        push_to_dhis2.apply_async((push_id,), queue=QUEUE)
    return snapshot.id if created else None


@shared_task(name="worker.tasks.reports.push_to_dhis2", bind=True,
             max_retries=dhis2.MAX_ATTEMPTS - 1)
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
