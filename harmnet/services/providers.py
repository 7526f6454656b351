"""The referral directory: a group's providers."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Provider
from ..models.contacts import SERVICES
from . import audit

FIELDS = ("name", "services", "address", "opening_hours", "phone", "is_active")


class ProviderError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def list_providers(*, active_only: bool = False) -> list[Provider]:
    stmt = select(Provider).order_by(Provider.is_active.desc(), Provider.name)
    if active_only:
        stmt = stmt.where(Provider.is_active.is_(True))
    return list(db.session.scalars(stmt))


def get_provider(provider_id: int) -> Provider | None:
    return db.session.scalar(select(Provider).where(Provider.id == provider_id))


def _check(values: dict) -> None:
    if set(values) - set(FIELDS):
        raise TypeError("unknown provider fields")
    if any(s not in SERVICES for s in values.get("services", [])):
        raise ProviderError("unknown_service")
    if "name" in values and not (values["name"] or "").strip():
        raise ProviderError("name_needed")


def create_provider(group_id: int, *, actor_id: int | None = None, **values: object) -> Provider:
    _check(values)
    provider = Provider(group_id=group_id, **values)
    db.session.add(provider)
    db.session.flush()
    audit.record("provider.created", "provider", provider.id, actor_id=actor_id)
    return provider


def update_provider(provider: Provider, *, actor_id: int | None = None,
                    **values: object) -> list[str]:
    _check(values)
    changed = [k for k, v in values.items() if getattr(provider, k) != v]
    for key in changed:
        setattr(provider, key, values[key])
    if changed:
        db.session.flush()
        audit.record("provider.edited", "provider", provider.id, actor_id=actor_id,
                     fields=sorted(changed))
    return changed
