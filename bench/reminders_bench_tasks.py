"""The no-op task the reminders benchmark compares against (imported by its worker only)."""

from __future__ import annotations

import os

import redis
from celery import shared_task

_counter = redis.Redis.from_url(os.environ["BENCH_COUNTER_URL"])


@shared_task(name="bench.noop", ignore_result=True)
def noop() -> None:
    """Nothing but the one INCR that lets the benchmark see it ran."""
    _counter.incr("bench:noop")
