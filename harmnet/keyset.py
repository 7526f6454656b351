"""Keyset pages: "older" and "newer" links, so a page of a long list costs its own rows and
never a count of the group's whole history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, or_

#: A position in a list ordered newest first: the sort value and the row id (a tie-break).
Cursor = tuple[Any, int]


@dataclass
class KeysetPage:
    """One page and the cursors of the links around it (None: no link)."""

    items: list
    #: Cursor of the page's last row: the "older" link lists what comes after it.
    older: str | None
    #: Cursor of the page's first row: the "newer" link lists what comes before it.
    newer: str | None


def cursor_text(value: date | datetime, row_id: int) -> str:
    return f"{value.isoformat()}_{row_id}"


def parse_cursor(text: str | None, kind: type[date] | type[datetime]) -> Cursor | None:
    """A cursor from a URL, or None when absent or malformed (then the list starts at the
    newest rows: a bad link is never an error page)."""
    if not text or len(text) > 64:
        return None
    head, sep, tail = text.rpartition("_")
    if not sep or not tail.isdigit() or len(tail) > 18:
        return None
    try:
        value = kind.fromisoformat(head)
    except ValueError:
        return None
    if kind is date and isinstance(value, datetime):
        return None
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value, int(tail)


def keyset_page(stmt, key, ident, per_page: int, *, before: Cursor | None,  # type: ignore[no-untyped-def]
                after: Cursor | None, fetch: Callable[[Any], list],
                key_of: Callable[[Any], Cursor]) -> KeysetPage:
    """Rows of `stmt` newest first by (`key`, `ident`), `per_page` of them: the first page,
    the page older than `before`, or the page newer than `after`. One statement, reading
    one row more than it shows to know whether another page follows."""
    if after is not None:
        value, row_id = after
        rows = fetch(stmt.where(key >= value, or_(key > value, and_(key == value, ident > row_id)))
                     .order_by(None).order_by(key.asc(), ident.asc()).limit(per_page + 1))
        more_newer = len(rows) > per_page
        rows = rows[:per_page][::-1]
        if not rows:  # nothing newer any more: show the newest page
            return keyset_page(stmt, key, ident, per_page, before=None, after=None,
                               fetch=fetch, key_of=key_of)
        return KeysetPage(rows, cursor_text(*key_of(rows[-1])),
                          cursor_text(*key_of(rows[0])) if more_newer else None)
    query = stmt
    if before is not None:
        value, row_id = before
        query = query.where(key <= value, or_(key < value, and_(key == value, ident < row_id)))
    rows = fetch(query.order_by(None).order_by(key.desc(), ident.desc()).limit(per_page + 1))
    more_older = len(rows) > per_page
    rows = rows[:per_page]
    return KeysetPage(
        rows,
        cursor_text(*key_of(rows[-1])) if more_older and rows else None,
        cursor_text(*key_of(rows[0])) if before is not None and rows else None,
    )
