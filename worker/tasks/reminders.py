"""Reminder tasks: the dispatcher (beat, every minute) and the send task (one per reminder).

The schedule lives in the database, not in Celery ETAs: the dispatcher claims due rows and
queues one send task per id; retries and postponements go back to the database as a new
`send_at`. So a lost message, a killed worker or a restarted broker loses no reminder,
and the send task's compare-and-set on `handed_at` makes a repeated message harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from celery import shared_task
from flask import current_app
from sqlalchemy import select

from harmnet import tenancy
from harmnet.extensions import db
from harmnet.models import PeerGroup
from harmnet.models._types import utcnow
from harmnet.services import reminders
from harmnet.services.reminder_channels import (
    PermanentError,
    TransientError,
    UncertainError,
    channel_for,
)

log = logging.getLogger(__name__)

Enqueue = Callable[[int, list[int]], list[int]]


def _group_ids(active_only: bool = True) -> list[int]:
    stmt = select(PeerGroup.id).order_by(PeerGroup.id)
    if active_only:
        stmt = stmt.where(PeerGroup.is_active.is_(True))
    ids = list(db.session.scalars(stmt))
    db.session.commit()
    return ids


def queue_sends(group_id: int, reminder_ids: list[int]) -> list[int]:
    """Publish one send task per id over one producer; return the ids not queued."""
    app = send.app
    with app.producer_or_acquire() as producer:
        for n, reminder_id in enumerate(reminder_ids):
            try:
                send.apply_async((group_id, reminder_id), producer=producer)
            except Exception:  # the broker is away: these rows go back to pending
                log.exception("could not queue reminder sends for group %s", group_id)
                return reminder_ids[n:]
    return []


def recover(now: datetime) -> dict[str, int]:
    """In the current group: requeue claimed rows never handed to a channel, and settle
    rows a dead worker left handed (the channel confirms by key, or they become uncertain)."""
    cfg = current_app.config
    stale = int(cfg["REMINDER_STALE_SECONDS"])
    counts = {"requeued": reminders.requeue_unhanded(now, stale)}
    handed = reminders.stale_handed(now, stale)
    db.session.commit()
    for reminder_id, channel_name, key in handed:
        confirmation, message_id = channel_for(channel_name, cfg).confirm(
            tenancy.require_group_id(), reminder_id, key)
        outcome = reminders.settle_stale(reminder_id, confirmation, message_id, now)
        db.session.commit()
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def dispatch(now: datetime | None = None, enqueue: Enqueue | None = None) -> int:
    """Claim every due reminder, group by group, and queue its send task; how many queued.

    A cross-group sweep that never reads across groups: it lists group ids (peer_groups is
    not group-owned) and works inside each group's tenant context, so row-level security
    on PostgreSQL holds as for any request.
    """
    now = now or utcnow()
    enqueue = enqueue or queue_sends
    batch = int(current_app.config["REMINDER_CLAIM_BATCH"])
    queued = 0
    for group_id in _group_ids():
        with tenancy.group_context(group_id):
            try:
                recover(now)
                while True:
                    ids = reminders.claim_due(group_id, now, batch)
                    db.session.commit()
                    if not ids:
                        break
                    left = enqueue(group_id, ids)
                    queued += len(ids) - len(left)
                    if left:
                        reminders.unclaim(left)
                        db.session.commit()
                        return queued  # the broker is away; the next beat tries again
                    if len(ids) < batch:
                        break
            except Exception:
                db.session.rollback()
                raise
    return queued


def deliver(group_id: int, reminder_id: int, now: datetime | None = None) -> str:
    """Send one claimed reminder; return the outcome (sent, postponed, retry, failed, ...)."""
    cfg = current_app.config
    with tenancy.group_context(group_id):
        try:
            plan = reminders.begin_send(reminder_id, now if now is not None else utcnow())
            if isinstance(plan, str):
                db.session.commit()
                return plan
            channel = channel_for(plan.channel, cfg)
            if getattr(channel, "transactional", False):
                # The outbox writes into this database: the message and the `sent` mark
                # commit together, or neither does. Exactly once, in one transaction.
                message_id = channel.send(plan.message)
                reminders.record_sent_in_transaction(
                    reminder_id, message_id, now if now is not None else utcnow())
                db.session.commit()
                return "sent"
            db.session.commit()  # handed_at is durable before the channel is called
        except Exception:
            db.session.rollback()
            raise
        failure: tuple[str, str] | None = None
        try:
            message_id = channel.send(plan.message)
        except TransientError as exc:
            failure = ("transient", exc.reason)
        except PermanentError as exc:
            failure = ("permanent", exc.reason)
        except UncertainError as exc:
            failure = ("uncertain", exc.reason)
        except Exception:
            # Unknown whether it went out: leave the row handed; the stale sweep asks the
            # channel, or marks it uncertain. Never guess.
            db.session.rollback()
            raise
        done = now if now is not None else utcnow()
        try:
            if failure is None:
                reminders.record_sent(reminder_id, message_id, done)
                outcome = "sent"
            else:
                outcome = reminders.record_failure(
                    reminder_id, failure[0], failure[1], done,
                    max_attempts=int(cfg["REMINDER_MAX_ATTEMPTS"]),
                    backoff_seconds=int(cfg["REMINDER_BACKOFF_SECONDS"]),
                )
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        return outcome


@shared_task(name="worker.tasks.reminders.dispatch_due", ignore_result=True)
def dispatch_due() -> int:
    """Beat, every minute: claim due reminders and queue their sends."""
    return dispatch()


# acks_late: the message is acknowledged only after the task ran, so a worker that dies
# mid-task does not lose it. reject_on_worker_lost: when the pool process is killed, the
# message goes back to the queue instead of being acknowledged as failed. Both are safe
# only because this task is idempotent: a second delivery finds `handed_at` already set
# (or the row no longer `sending`) and does nothing. Prefetch 1 (config.py) keeps a
# killed worker from stranding more than one message per process.
@shared_task(name="worker.tasks.reminders.send", acks_late=True, reject_on_worker_lost=True,
             ignore_result=True)
def send(group_id: int, reminder_id: int) -> str:
    """Send one reminder (ids only, group first)."""
    return deliver(group_id, reminder_id)
