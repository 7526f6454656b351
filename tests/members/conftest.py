"""Fixtures of the members and trainings tests: a signed-in coordinator and quick factories."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.conftest import make_config
from tests.support import in_group


@pytest.fixture
def app_config(database, tmp_path):  # type: ignore[no-untyped-def]
    # Import previews wait in a folder of this test only.
    return make_config(database, IMPORT_DIR=str(tmp_path / "imports"))


@pytest.fixture
def coordinator(client, make_group, login_as):  # type: ignore[no-untyped-def]
    """A group and its coordinator, signed in on `client`."""
    group = make_group("hoa-sen", name="CLB Hoa Sen")
    user = login_as("coordinator", group=group)
    return group, user


@pytest.fixture
def add_member(db):  # type: ignore[no-untyped-def]
    from harmnet.services import members

    def add(group, alias: str = "Hoa", **values):  # type: ignore[no-untyped-def]
        with in_group(group.id):
            member = members.create(alias=alias, **values)
            db.session.commit()
            return member.id

    return add


@pytest.fixture
def add_training(db):  # type: ignore[no-untyped-def]
    from harmnet.services import trainings

    def add(group, *, days: float = 7, title: str = "Giảm hại cơ bản", **values):  # type: ignore[no-untyped-def]
        values.setdefault("topic", "harm_reduction")
        values.setdefault("duration_minutes", 120)
        starts = datetime.now(UTC) + timedelta(days=days)
        with in_group(group.id):
            training = trainings.create(title=title, starts_at=starts, **values)
            db.session.commit()
            return training.id

    return add


@pytest.fixture
def invite_to(db):  # type: ignore[no-untyped-def]
    from harmnet.services import trainings

    def invite(group, training_id: int, member_ids: list[int]) -> None:
        with in_group(group.id):
            trainings.invite(trainings.get(training_id), member_ids)
            db.session.commit()

    return invite


def audit_actions(db) -> list[tuple]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from harmnet.models import AuditEvent
    from tests.support import audit_trail

    return [(e.action, e.object_id, e.detail) for e in
            audit_trail(select(AuditEvent).order_by(AuditEvent.id))]


TODAY = date.today()
