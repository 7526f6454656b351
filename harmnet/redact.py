"""Secrets out of logs: invitation and reset tokens are cut from every log record."""

from __future__ import annotations

import logging
import re

#: A one-time token in a path (/invite/<token>, /reset/<token>), plain or URL-encoded (a
#: `next=` parameter). Tokens are 43 characters of token_urlsafe(32); 16+ spares words.
_TOKEN_PATH = re.compile(
    r"((?:/|%2F)(?:invite|reset)(?:/|%2F))[A-Za-z0-9_\-]{16,}", re.IGNORECASE
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """`text` with every token in a one-time link replaced by [redacted]."""
    return _TOKEN_PATH.sub(r"\1" + REDACTED, text)


def install() -> None:
    """Redact every log record of this process when it is made, whoever logs it and
    wherever it goes: gunicorn's access and error logs (both go through `logging`), Flask's
    "Exception on /invite/..." line, werkzeug's request line, Celery's worker log. A filter
    on some handlers would miss the handlers that others (gunicorn, Celery) set up."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "harmnet_redacts", False):
        return

    def factory(*args, **kwargs):  # type: ignore[no-untyped-def]
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's problem, not ours
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    factory.harmnet_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
