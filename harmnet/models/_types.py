"""Column helpers shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB

from ..tenancy import BigId

__all__ = ["BigId", "JSONType", "UTCDateTime", "utcnow"]

#: JSON stored as JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """Now, timezone-aware in UTC (a callable default, never a value)."""
    return datetime.now(UTC)


class UTCDateTime(DateTime):
    """Timestamps are stored in UTC; SQLite hands them back naive, so mark them UTC again."""

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def result_processor(self, dialect, coltype):  # type: ignore[override]
        parent = super().result_processor(dialect, coltype)

        def process(value):  # type: ignore[no-untyped-def]
            if parent is not None:
                value = parent(value)
            if isinstance(value, datetime) and value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            return value

        return process
