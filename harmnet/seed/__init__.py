"""The demo data of DESIGN section 11, built idempotently, area by area."""

from __future__ import annotations

from . import core, reminders

#: Each area adds its module here; every step must be safe to run twice.
STEPS = [core.seed, reminders.seed]  # reminders after appointments


def run_all(password: str) -> None:
    for step in STEPS:
        step(password)
