"""What the configured keys must match: recorded at first start, checked at every start."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._types import BigId, UTCDateTime, utcnow


class KeyCheck(db.Model):
    """One check value: the pseudonym key's fingerprint, or a sample encrypted under the
    encryption keys. Neither reveals a key."""

    __tablename__ = "key_checks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: "pseudonym" (HMAC fingerprint) or "encryption" (a Fernet token of a fixed text).
    name: Mapped[str] = mapped_column(String(20), unique=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
