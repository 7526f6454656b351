"""The OpenAPI 3.1 document of /api/v1/, built by apispec from the routes and schemas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from . import schemas

#: (path, method, operation) as the route decorators declared them, in import order.
_OPERATIONS: list[tuple[str, str, dict[str, Any]]] = []

_SLUG = {"name": "group_slug", "in": "path", "required": True,
         "schema": {"type": "string", "pattern": "^[a-z0-9-]{1,64}$"}}
_ID = {"name": "contact_id", "in": "path", "required": True,
       "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}}


def _problem(status: int) -> dict[str, Any]:
    return {"description": {400: "Malformed request or missing CSRF token",
                            401: "Not signed in", 403: "Queued by another person",
                            404: "No such group or contact for you",
                            422: "Refused; errors name the fields"}.get(status, "Problem"),
            "content": {"application/problem+json": {"schema": "Problem"}}}


def operation(path: str, method: str, *, summary: str, ok: tuple[int, str],
              also: tuple[int, str] | None = None, body: str | None = None,
              errors: tuple[int, ...] = (), description: str = "") -> Callable:
    """Declare a route's operation next to its code; `document()` assembles them."""
    op: dict[str, Any] = {"summary": summary, "responses": {}}
    if description:
        op["description"] = description
    params = [p for p in (_SLUG, _ID) if "{" + p["name"] + "}" in path]
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": body}}}
        op["security"] = [{"session": [], "csrf": []}]
    elif path != "/openapi.json":
        op["security"] = [{"session": []}]
    for status, schema in (ok, also) if also else (ok,):
        op["responses"][str(status)] = {
            "description": "OK", "content": {"application/json": {"schema": schema}}}
    for status in errors:
        op["responses"][str(status)] = _problem(status)
    _OPERATIONS.append((path, method, op))

    def decorator(view: Callable) -> Callable:
        return view

    return decorator


def document() -> dict[str, Any]:
    spec = APISpec(
        title="harmnet API", version="1", openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": "Session-cookie authenticated; every POST carries the CSRF "
                             "token of GET /me in the X-CSRFToken header. Errors are "
                             "application/problem+json (RFC 9457) in the user's language."},
        servers=[{"url": "/api/v1"}],
    )
    spec.components.security_scheme(
        "session", {"type": "apiKey", "in": "cookie", "name": "harmnet_session"})
    spec.components.security_scheme(
        "csrf", {"type": "apiKey", "in": "header", "name": "X-CSRFToken"})
    for name in ("ContactIn", "ContactSaved", "ContactOut", "Me", "Problem"):
        spec.components.schema(name, schema=getattr(schemas, name))
    paths: dict[str, dict[str, Any]] = {}
    for path, method, op in _OPERATIONS:
        paths.setdefault(path, {})[method] = op
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
