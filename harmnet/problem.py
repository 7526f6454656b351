"""RFC 9457 problem+json answers for API and JSON callers."""

from __future__ import annotations

from flask import Response, json
from werkzeug.http import HTTP_STATUS_CODES


def problem(status: int, detail: str | None = None, **extra: object) -> Response:
    """A problem+json response."""
    title = HTTP_STATUS_CODES.get(status, "Error")
    body: dict[str, object] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")
