"""The demo data of DESIGN section 11, built idempotently, area by area."""

from __future__ import annotations

from . import contacts, core, members, reminders, reports, results, stock

#: Each area adds its module here; every step must be safe to run twice. Reminders follow
#: the appointments (contacts) and trainings (members), test results the referrals (contacts),
#: stock the contacts' commodities; reports come last, reading the rest.
STEPS = [core.seed, members.seed, contacts.seed, results.seed, stock.seed, reminders.seed,
         reports.seed]


def run_all(password: str) -> None:
    for step in STEPS:
        step(password)
