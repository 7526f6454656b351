"""Demo test results and linkages: outcomes of the completed referrals to testing, reported
self-test results, confirmations and the follow-ups they open (some started treatment or
PrEP, some still open on the peer educator's follow-ups page). Runs after the contacts and
before the reports, through the results service so the demo keeps every rule."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select

from .. import tenancy
from ..extensions import db
from ..models import Contact, Referral, TestResult
from ..models.results import TEST_OF_SERVICE
from ..services import results
from .core import group


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _seed_group(slug: str) -> None:
    grp = group(slug)
    with tenancy.group_context(grp.id):
        if db.session.scalar(select(func.count()).select_from(TestResult)):
            return  # already seeded: idempotent
        rng = random.Random(f"harmnet-demo-results-{slug}")
        today = datetime.now(ZoneInfo(grp.timezone)).date()
        rows = db.session.execute(
            select(Referral, Contact.peer_educator_id)
            .join(Contact, and_(Contact.group_id == Referral.group_id,
                                Contact.id == Referral.contact_id))
            .where(Referral.service.in_(list(TEST_OF_SERVICE)), Referral.status == "completed",
                   Contact.deleted_at.is_(None))
            .order_by(Referral.referred_on, Referral.id)
        ).all()
        # The latest HIV test comes back reactive and confirmed, its follow-up still open:
        # the follow-ups page has one to answer on the first day of the demo.
        latest_hiv = max((r.id for r, _ in rows if r.service == "hiv_test"), default=None)
        for referral, author in rows:
            tested_on = referral.completed_on or referral.referred_on
            if referral.service != "hiv_test":
                results.record_referral_outcome(
                    referral, tested=True, tested_on=tested_on,
                    result=_pick(rng, {"non_reactive": 80, "reactive": 8, "not_disclosed": 12}),
                    actor_id=author, today=today)
                continue
            result = "reactive" if referral.id == latest_hiv else _pick(
                rng, {"non_reactive": 78, "reactive": 12, "indeterminate": 3,
                      "not_disclosed": 7})
            confirmed_on = None
            if result == "reactive" and (referral.id == latest_hiv or rng.random() < 0.85):
                confirmed_on = min(today, tested_on + timedelta(days=rng.randint(0, 5)))
            prep = result == "non_reactive" and rng.random() < 0.3
            row = results.record_referral_outcome(
                referral, tested=True, tested_on=tested_on, result=result,
                confirm_result="reactive" if confirmed_on else None, confirmed_on=confirmed_on,
                prep=prep, actor_id=author, today=today)
            if row.linkage and referral.id != latest_hiv:
                _answer(rng, row, today, author)
        for contact in db.session.scalars(
            select(Contact).where(Contact.self_test_kits > 0, Contact.deleted_at.is_(None))
            .order_by(Contact.id)
        ):
            if rng.random() < 0.5:
                reported = min(today, contact.occurred_on + timedelta(days=rng.randint(0, 10)))
                results.record_self_test(
                    contact, reported_on=reported,
                    result=_pick(rng, {"non_reactive": 85, "reactive": 5, "not_disclosed": 10}),
                    actor_id=contact.peer_educator_id, today=today)
        db.session.flush()


def _answer(rng: random.Random, row: TestResult, today: date, author: int) -> None:
    """Most follow-ups older than a month are answered: most started (some after more than
    30 days), a few did not; recent ones mostly stay open."""
    opened = row.linkage_opened_on
    assert opened is not None
    if (today - opened).days < 30 and rng.random() < 0.6:
        return
    roll = rng.random()
    if roll < 0.75:
        started = min(today, opened + timedelta(days=rng.choice([0, 3, 7, 14, 21, 40])))
        results.record_linkage(row, "linked", started, actor_id=author, today=today)
    elif roll < 0.85:
        results.record_linkage(row, "not_linked", None, actor_id=author, today=today)


def seed(password: str) -> None:  # noqa: ARG001 - every seed step has this signature
    _seed_group("hoa-sen")
    _seed_group("song-hong")
