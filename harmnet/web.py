"""Security headers, static caching, template helpers and error pages."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, current_app, g, render_template, request, url_for
from flask_babel import get_locale
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

STATIC_DIR = Path(__file__).parent / "static"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)

#: Sent with every response unless the view set its own.
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class IdConverter(IntegerConverter):
    """`<int:...>` for database ids: 1 up to BIGINT's largest value, so a longer number
    typed into a URL is a plain 404 (SQLite raises on integers past 64 bits)."""

    def __init__(self, url_map, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def file_hash(filename: str) -> str:
    """The first 12 hex digits of a static file's SHA-256."""
    return hashlib.sha256((STATIC_DIR / filename).read_bytes()).hexdigest()[:12]


def install_hooks(app: Flask) -> None:
    # The static files' hashes, read once: a release replaces the files and the processes.
    app.extensions["harmnet_static_hashes"] = {} if app.debug else {
        str(path.relative_to(STATIC_DIR)): file_hash(str(path.relative_to(STATIC_DIR)))
        for path in STATIC_DIR.rglob("*") if path.is_file()
    }

    @app.after_request
    def _security_headers(response):  # type: ignore[no-untyped-def]
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        # Pages may hold personal data; never let a shared phone or proxy keep them.
        response.headers["Cache-Control"] = "no-store"
        response.vary.add("Cookie")
        return response


def static_files(app: Flask) -> Flask:
    """The static files, served by a small app of their own under /static.

    A static file is public and cached for a year, so its response must carry no session
    cookie and not vary by cookie. Served by the main app, it would: Flask-Login reads the
    session after every request, and Flask then adds `Vary: Cookie`, so each new cookie (a
    sign-in, a flash message) made a phone fetch the stylesheet again. This app opens no
    session and loads no user. Its URLs are still built by the main app's `static` route."""
    from .extensions import compress

    files = Flask(f"{app.import_name}.static", static_folder=str(STATIC_DIR),
                  static_url_path="")
    files.config.from_mapping({k: v for k, v in app.config.items() if k.startswith("COMPRESS")})
    files.config["SEND_FILE_MAX_AGE_DEFAULT"] = app.config["SEND_FILE_MAX_AGE_DEFAULT"]
    compress.init_app(files)

    @files.after_request
    def _caching(response):  # type: ignore[no-untyped-def]
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if response.status_code in (200, 304):
            _static_caching(app, response)
        return response

    return files


def _static_hash(app: Flask, filename: str) -> str | None:
    try:
        return app.extensions["harmnet_static_hashes"].get(filename) or file_hash(filename)
    except OSError:
        return None


def _static_caching(app: Flask, response):  # type: ignore[no-untyped-def]
    """A static URL whose ?v= matches the file's content hash never changes: cache it for a
    year without revalidation (repeat visits on a slow phone cost the HTML only). Any other
    static URL may change in place, so it is revalidated with its ETag."""
    cc = response.cache_control
    filename = (request.view_args or {}).get("filename", "")
    current = _static_hash(app, filename)
    if current is not None and request.args.get("v") == current:
        cc.public = True
        cc.max_age = 365 * 24 * 3600
        cc.immutable = True
    else:
        cc.max_age = None
        cc.immutable = False
        cc.no_cache = True
        response.headers.pop("Expires", None)


def static_url(filename: str) -> str:
    """A static URL carrying a content hash, so it can be cached for a year."""
    return url_for("static", filename=filename, v=_static_hash(current_app, filename))


def install_template_helpers(app: Flask) -> None:
    from . import formats
    from .forms import csrf_refused, error_items, field_attrs

    app.add_template_global(static_url)
    app.add_template_global(get_locale)
    for helper in (field_attrs, error_items, csrf_refused):
        app.add_template_global(helper)
    formats.install(app)

    @app.context_processor
    def _inject():  # type: ignore[no-untyped-def]
        return {
            "group": g.get("group"),
            "membership": g.get("membership"),
            "department": g.get("department"),
            # Per render, so a page is in one language even if the locale changes.
            "locale": str(get_locale()),
        }


def _error_page(code: int, template: str | None = None):  # type: ignore[no-untyped-def]
    return render_template(template or f"errors/{code}.html", code=code), code


def install_error_handlers(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, lambda e, c=code: _error_handler(e, c))

    @app.errorhandler(CSRFError)
    def _csrf(e):  # type: ignore[no-untyped-def]
        if request.path.startswith("/api/"):
            from flask_babel import gettext as _

            from .problem import problem

            return problem(400, _("This form has expired. Please check it and save again."))
        return _error_page(400, "errors/csrf.html")


def _error_handler(error: Exception, code: int):  # type: ignore[no-untyped-def]
    if isinstance(error, HTTPException) and error.response is not None:
        return error.response  # the route's own answer (a limit's on_breach page)
    if isinstance(error, HTTPException) and error.code != code:
        code = error.code or code
    if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
        from .problem import problem

        return problem(code, _api_detail(code))
    template = f"errors/{code}.html" if code in (403, 404, 429, 500) else "errors/generic.html"
    return _error_page(code, template)


def _api_detail(code: int) -> str | None:
    """The problem's detail in the user's language, for the codes a caller can act on."""
    from flask_babel import gettext as _

    return {
        404: _("There is no such page, or it is not yours to see."),
        429: _("Please wait a minute, then try again."),
        500: _("Nothing you entered was shared. Please try again in a moment."),
    }.get(code)
