"""Column helpers shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import ARRAY, DOUBLE_PRECISION, JSONB
from sqlalchemy.types import TypeDecorator

from ..tenancy import BigId

__all__ = ["BigId", "FloatArray", "JSONType", "UTCDateTime", "utcnow"]

#: JSON stored as JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")
#: A list of numbers (None allowed): double precision[] on PostgreSQL, JSON elsewhere.
FloatArray = JSON().with_variant(ARRAY(DOUBLE_PRECISION()), "postgresql")


def utcnow() -> datetime:
    """Now, timezone-aware in UTC (a callable default, never a value)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timestamps are stored in UTC; SQLite hands them back naive, so mark them UTC again.

    A TypeDecorator, not a DateTime subclass: dialects replace a DateTime subclass by their
    own DATETIME type (SQLite's dropped the result processor, so values came back naive).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if isinstance(value, datetime):
            # A naive value is taken to be UTC already (every default is utcnow()).
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)  # SQLite keeps the wall clock only
        return value

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value
