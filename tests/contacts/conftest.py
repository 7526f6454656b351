"""Fixtures of the contact area: a group with providers, and a helper to post a contact."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support import csrf_from

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local_today() -> date:
    return datetime.now(TZ).date()


def contact_form(url_page_html: str, **values: object) -> dict:
    """The entry form's hidden values (CSRF, token) plus `values` (an individual contact)."""
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', url_page_html)
    if key is None:
        key = re.search(r'id="idempotency_key" name="idempotency_key" type="hidden" '
                        r'value="([^"]+)"', url_page_html)
    assert key, "no idempotency token on the page"
    data = {
        "csrf_token": csrf_from(url_page_html),
        "idempotency_key": key.group(1),
        "occurred_on": local_today().isoformat(),
        "channel": "in_person",
        "mother": "Xuyến",
        "father": "Quỳnh",
        "sex": "F",
        "birth_year": "1996",
        "condoms": "10",
        "action": "save",
    }
    data.update({k: v for k, v in values.items() if v is not None})
    for k in [k for k, v in values.items() if v is None]:
        data.pop(k, None)
    return data


_HASH: dict[str, str] = {}


def quick_user(login: str, group, role: str, locale: str = "en"):  # type: ignore[no-untyped-def]
    """A login with the test password, hashed once per run (argon2 is slow on a busy machine)."""
    from harmnet.extensions import db
    from harmnet.models import User
    from harmnet.security import hash_password
    from harmnet.services import org
    from tests.support import PASSWORD

    if "hash" not in _HASH:
        _HASH["hash"] = hash_password(PASSWORD)
    user = User(login=login, display_name=f"Name {login}", password_hash=_HASH["hash"],
                locale=locale)
    db.session.add(user)
    db.session.flush()
    org.grant_group_role(group, user, role)
    return user


@pytest.fixture
def group_setup(make_group, db):  # type: ignore[no-untyped-def]
    """Groups A and B, each with a coordinator and two peer educators, and two providers.

    Returns (group a, group b, {name: user}, {slug: [provider ids]}): plain ids, because
    under row-level security a group-owned object cannot be refreshed outside its group.
    """
    from harmnet.services import providers
    from tests.support import in_group

    a = make_group("group-a")
    b = make_group("group-b")
    users = {}
    for group, tag in ((a, "a"), (b, "b")):
        users[f"{tag}_coord"] = quick_user(f"{tag}-coord", group, "coordinator")
        users[f"{tag}_peer"] = quick_user(f"{tag}-peer", group, "peer_educator")
        users[f"{tag}_peer2"] = quick_user(f"{tag}-peer2", group, "peer_educator")
    made = {}
    for group in (a, b):
        with in_group(group.id):
            made[group.slug] = [
                providers.create_provider(group.id, name=f"Clinic {group.slug}",
                                          services=["hiv_test", "pep"], address="1 Phố Huế").id,
                providers.create_provider(group.id, name=f"Legal aid {group.slug}",
                                          services=["legal_aid"]).id,
            ]
    db.session.commit()
    return a, b, users, made


def post_contact(client, slug: str, **values: object):  # type: ignore[no-untyped-def]
    page = client.get(f"/g/{slug}/contacts/new")
    assert page.status_code == 200
    data = contact_form(page.get_data(as_text=True), **values)
    return client.post(f"/g/{slug}/contacts/new", data=data), data


def in_days(days: int, hour: int = 9) -> tuple[str, str]:
    day = local_today() + timedelta(days=days)
    return day.isoformat(), f"{hour:02d}:00"


def make_contact(group_id: int, user_id: int, *, code: str = "LAMIF1990",
                 days_ago: int = 0, referrals: list | None = None, **values: object) -> int:
    """Record a contact through the service (fast set-up); returns its id."""
    import secrets

    from harmnet import clientcode
    from harmnet.extensions import db
    from harmnet.services import contacts
    from tests.support import in_group

    with in_group(group_id):
        data = contacts.ContactInput(
            occurred_on=local_today() - timedelta(days=days_ago),
            channel=values.pop("channel", "in_person"),
            pseudonym=clientcode.pseudonym(group_id, code),
            sex=code[4], age_band="25-34", referrals=referrals or [], **values,
        )
        if data.channel == "group_session":
            data.pseudonym, data.participants_count = None, data.participants_count or 10
        contact_id = contacts.create_contact(group_id, user_id, data, secrets.token_urlsafe(16))
        db.session.commit()
        return contact_id
