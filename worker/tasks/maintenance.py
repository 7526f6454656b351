"""Housekeeping tasks."""

from __future__ import annotations

from celery import shared_task

from harmnet.extensions import db
from harmnet.services import accounts, sessions


@shared_task(name="worker.tasks.maintenance.purge_expired_invitations")
def purge_expired_invitations() -> int:
    """Delete unused invitations a day after they expired; returns how many."""
    try:
        removed = accounts.purge_expired_invitations()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return removed


@shared_task(name="worker.tasks.maintenance.purge_ended_sessions")
def purge_ended_sessions() -> int:
    """Delete the rows of sessions that were signed out or ran past their limits."""
    try:
        removed = sessions.purge(sessions.Limits.from_config())
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return removed


@shared_task(name="worker.tasks.maintenance.purge_deleted_notes")
def purge_deleted_notes() -> int:
    """Empty the notes of contacts deleted more than 30 days ago; returns how many."""
    from harmnet.services import erasure

    try:
        purged = erasure.purge_deleted_notes()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return purged
