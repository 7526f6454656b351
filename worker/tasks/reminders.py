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

from harmnet import tenancy
from harmnet.extensions import db
from harmnet.models._types import utcnow
from harmnet.services import reminders
from harmnet.services.reminder_channels import (
    PermanentError,
    TransientError,
    UncertainError,
    channel_for,
)

log = logging.getLogger(__name__)

#: (group id, batches of reminder ids: one send task each) -> the ids not queued.
Enqueue = Callable[[int, list[list[int]]], list[int]]


def queue_sends(group_id: int, batches: list[list[int]]) -> list[int]:
    """Publish one send task per batch over one producer; return the ids not queued."""
    app = send_batch.app
    with app.producer_or_acquire() as producer:
        for n, batch in enumerate(batches):
            try:
                send_batch.apply_async((group_id, batch), producer=producer)
            except Exception:  # the broker is away: these rows go back to pending
                log.exception("could not queue reminder sends for group %s", group_id)
                return [rid for left in batches[n:] for rid in left]
    return []


def batch_size(channel_name: str) -> int:
    """How many reminders of a channel one send task takes.

    The outbox writes in the task's own transaction: a whole batch commits at once. A
    network channel is called one reminder after another after the batch was handed, so a
    batch must end well inside REMINDER_STALE_SECONDS (else a slow batch's last rows would
    look abandoned); and e-mail, which cannot confirm what a dead worker sent, goes alone,
    so a killed worker leaves at most one reminder uncertain, as before batching.
    """
    cfg = current_app.config
    limit = max(1, int(cfg["REMINDER_SEND_BATCH"]))
    channel = channel_for(channel_name, cfg)
    if getattr(channel, "transactional", False):
        return limit
    if channel_name == "email":
        return 1
    per_send = max(float(cfg["REMINDER_CHANNEL_TIMEOUT"]), 0.1)
    return max(1, min(limit, int(int(cfg["REMINDER_STALE_SECONDS"]) / (4 * per_send))))


def _batches(claimed: list[tuple[int, str]]) -> list[list[int]]:
    by_channel: dict[str, list[int]] = {}
    for rid, channel_name in claimed:
        by_channel.setdefault(channel_name, []).append(rid)
    out: list[list[int]] = []
    for channel_name, ids in by_channel.items():
        size = batch_size(channel_name)
        out.extend(ids[i:i + size] for i in range(0, len(ids), size))
    return out


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
    """Find the groups with due or stale reminders, then in each of them (under its tenant
    context) settle the stale rows and claim the due ones, queueing their send tasks;
    return how many reminders were queued.

    With nothing due this is one statement, however many groups exist: the sweep
    (`reminders.due_groups`) reads only group ids and due times, through a narrow role on
    PostgreSQL. The per-group work runs only where there is work, under row-level
    security as for any request.
    """
    now = now or utcnow()
    enqueue = enqueue or queue_sends
    cfg = current_app.config
    batch = int(cfg["REMINDER_CLAIM_BATCH"])
    queued = 0
    due = reminders.due_groups(now, int(cfg["REMINDER_STALE_SECONDS"]))
    db.session.commit()  # end the sweep's read before the per-group claims
    for found in due:
        group_id = found.group_id
        with tenancy.group_context(group_id):
            try:
                # Recovery may make rows pending again: claim them in this same pass.
                recovered = recover(now) if found.stale else {}
                while found.due or recovered.get("requeued") or recovered.get("pending"):
                    claimed = reminders.claim_due(group_id, now, batch)
                    db.session.commit()
                    if not claimed:
                        break
                    left = enqueue(group_id, _batches(claimed))
                    queued += len(claimed) - len(left)
                    if left:
                        reminders.unclaim(left)
                        db.session.commit()
                        return queued  # the broker is away; the next beat tries again
                    if len(claimed) < batch:
                        break
            except Exception:
                db.session.rollback()
                raise
    return queued


def deliver_batch(group_id: int, reminder_ids: list[int], now: datetime | None = None
                  ) -> list[str]:
    """Send a batch of claimed reminders of one group; the outcome of each, in order
    (sent, postponed, skipped, failed, not_ours, or the state a channel error left)."""
    cfg = current_app.config
    clock = (lambda: now) if now is not None else utcnow
    with tenancy.group_context(group_id):
        try:
            plans = reminders.begin_sends(reminder_ids, clock())
            outcomes = {rid: p for rid, p in plans.items() if isinstance(p, str)}
            in_transaction: dict[str, list[reminders.SendPlan]] = {}
            later: list[tuple[int, reminders.SendPlan]] = []
            for rid, plan in plans.items():
                if isinstance(plan, str):
                    continue
                if getattr(channel_for(plan.channel, cfg), "transactional", False):
                    in_transaction.setdefault(plan.channel, []).append(plan)
                else:
                    later.append((rid, plan))
            for channel_name, group_plans in in_transaction.items():
                # The outbox writes into this database: the messages and the `sent` marks
                # commit together, or none do. Exactly once, in one transaction.
                sent = channel_for(channel_name, cfg).send_many([p.message for p in group_plans])
                reminders.record_sent_many(sent, clock())
                outcomes.update(dict.fromkeys(sent, "sent"))
            db.session.commit()  # handed_at is durable before any network channel is called
        except Exception:
            db.session.rollback()
            raise
        for rid, plan in later:
            outcomes[rid] = _send_one(rid, plan, clock)
    return [outcomes[rid] for rid in reminder_ids]


def _send_one(reminder_id: int, plan: reminders.SendPlan, clock: Callable[[], datetime]
              ) -> str:
    cfg = current_app.config
    channel = channel_for(plan.channel, cfg)
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
    done = clock()
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


def deliver(group_id: int, reminder_id: int, now: datetime | None = None) -> str:
    """Send one claimed reminder; return the outcome (sent, postponed, retry, failed, ...)."""
    return deliver_batch(group_id, [reminder_id], now)[0]


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
    """Send one reminder (ids only, group first). Kept for messages queued before batches."""
    return deliver(group_id, reminder_id)


# The same settings as `send`, for the same reasons: every reminder of the batch is taken
# by its own compare-and-set, so a redelivered batch does nothing a second time.
@shared_task(name="worker.tasks.reminders.send_batch", acks_late=True,
             reject_on_worker_lost=True, ignore_result=True)
def send_batch(group_id: int, reminder_ids: list[int]) -> list[str]:
    """Send a batch of one group's reminders (ids only, group first)."""
    return deliver_batch(group_id, list(reminder_ids))
