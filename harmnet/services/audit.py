"""Recording audit events."""

from __future__ import annotations

from flask import g, has_request_context
from flask_login import current_user
from sqlalchemy import insert

from ..extensions import db
from ..models import AuditEvent


def record(
    action: str,
    object_type: str | None = None,
    object_id: int | None = None,
    *,
    actor_id: int | None = None,
    group_id: int | None = None,
    department_id: int | None = None,
    **detail: object,
) -> AuditEvent:
    """Add an audit event. `detail` must hold ids and codes only, never personal values."""
    if actor_id is None and has_request_context() and current_user.is_authenticated:
        actor_id = current_user.id
    if group_id is None and g.get("group") is not None:
        group_id = g.group.id
    if department_id is None and g.get("department") is not None:
        department_id = g.department.id
    event = AuditEvent(
        action=action,
        object_type=object_type,
        object_id=object_id,
        actor_id=actor_id,
        group_id=group_id,
        department_id=department_id,
        detail=detail,
    )
    db.session.add(event)
    db.session.flush()
    return event


def reveal(action: str, object_type: str, object_id: int, value: str | None) -> str | None:
    """A personal value (a member's phone, an outbox recipient) for one page view, with the
    audit event that says who saw whose; the event never holds the value itself."""
    record(action, object_type, object_id)
    return value


def record_many(action: str, object_type: str, events: list[dict]) -> None:
    """Add many events in one statement (a job's new snapshots): each of `events` gives
    object_id, group_id, department_id and `detail` (ids and codes only); the actor is
    the signed-in user, as in `record`, if any. The ids come from the table's sequence on
    the server, so no row is read back."""
    if not events:
        return
    actor_id = None
    if has_request_context() and current_user.is_authenticated:
        actor_id = current_user.id
    db.session.execute(insert(AuditEvent), [
        {"action": action, "object_type": object_type, "actor_id": actor_id, **event}
        for event in events])
