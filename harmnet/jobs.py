"""How the web side asks the worker for work: by task name, so no route imports a task."""

from __future__ import annotations

from flask import current_app


def enqueue(task_name: str, *args: object, queue: str | None = None) -> None:
    """Queue the task `task_name` with `args` (ids and plain values, group id first).

    A signature by name runs the registered task where there is one (the worker, or the
    test suite's eager mode) and is otherwise sent to the broker as it is."""
    celery = current_app.extensions["celery"]
    options = {"queue": queue} if queue else {}
    celery.signature(task_name, args=args, options=options).apply_async()
