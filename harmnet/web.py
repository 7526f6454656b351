"""Request hooks, security headers, template helpers and error pages."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, MutableMapping
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import (
    Flask,
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask.templating import Environment
from flask_babel import get_translations
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError, generate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer

# Jinja's "newstyle" wrappers (autoescaping, %-formatting), the ones Flask-Babel installs.
from jinja2 import pass_context
from jinja2.ext import (
    _make_new_gettext,
    _make_new_ngettext,
    _make_new_npgettext,
    _make_new_pgettext,
)
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

if TYPE_CHECKING:
    from babel.support import Translations
    from jinja2.runtime import Context

STATIC_DIR = Path(__file__).parent / "static"

#: A request refreshes the idle timestamp only when it is older than this. Refreshing
#: re-signs and re-sends the session cookie; skipping it makes the idle limit end at most
#: this much earlier, never later.
SEEN_REFRESH_SECONDS = 60

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)


#: Sent with every response unless the view set its own: (lower-case name, name, value).
SECURITY_HEADERS = tuple((name.lower(), name, value) for name, value in (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
))


class TemplateEnvironment(Environment):
    """Flask's Jinja environment, giving each template a plain copy of the globals.

    Jinja gives each template a ChainMap over the environment's globals, and every render
    copies it into a dict key by key, in Python (~35 µs of every page on our small
    server). A plain dict copies at C speed. Jinja asks that globals not change once
    templates are loaded; ours are all set while the app is built."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


class App(Flask):
    """The harmnet Flask application class (see TemplateEnvironment)."""

    jinja_environment = TemplateEnvironment


class SessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions, but never on a static file: those responses are public and
    cached for a year, and a shared cache must not keep (and hand out) a session cookie.

    A cookie that verified once is not verified again on each request (base64, zlib, an
    HMAC and a JSON walk: ~0.07 ms of every page): the process keeps what it held and
    when it was signed, and checks its age against the lifetime as Flask would."""

    def open_session(self, app, request):  # type: ignore[no-untyped-def]
        value = request.cookies.get(self.get_cookie_name(app))
        if value and app.secret_key:
            try:
                items, signed_at = _verified_cookie(app.secret_key, value)
            except _NotKept:
                pass
            else:
                age = time.time() - signed_at
                if 0 <= age <= app.permanent_session_lifetime.total_seconds():
                    return self.session_class(items)
        return super().open_session(app, request)  # expired, forged, or holds a list

    def save_session(self, app, session, response):  # type: ignore[no-untyped-def]
        if request.endpoint == "static":
            return
        super().save_session(app, session, response)


class _NotKept(Exception):
    pass


_SCALARS = (str, int, float, bool, type(None))


@lru_cache(maxsize=4096)
def _verified_cookie(secret: str | bytes, value: str) -> tuple[tuple, float]:
    """What a session cookie that verifies under `secret` holds, and when it was signed.
    Raises (and so keeps nothing) for a cookie that does not verify, so forged cookies
    cannot crowd out real ones, or that holds a list or dict (flashed messages), which
    each request must get a copy of."""
    serializer = current_app.session_interface.get_signing_serializer(current_app)
    try:
        data, signed_at = serializer.loads(value, return_timestamp=True)
    except BadSignature as e:
        raise _NotKept from e
    if not isinstance(data, dict) or not all(isinstance(v, _SCALARS) for v in data.values()):
        raise _NotKept
    return tuple(data.items()), signed_at.timestamp()


def install_hooks(app: Flask) -> None:
    app.session_interface = SessionInterface()

    @app.before_request
    def _enforce_session_limits():  # type: ignore[no-untyped-def]
        if request.endpoint in ("static", "main.healthz", "main.readyz"):
            return None
        if not current_user.is_authenticated:
            return None
        now = int(time.time())
        started = session.get("_started", now)
        seen = session.get("_seen", now)
        idle = app.config["SESSION_IDLE_TIMEOUT"].total_seconds()
        absolute = app.config["SESSION_ABSOLUTE_TIMEOUT"].total_seconds()
        if now - seen > idle or now - started > absolute:
            logout_user()
            session.clear()
            flash(_("Your session has ended. Please sign in again."), "info")
            return redirect(url_for("auth.login", next=request.full_path
                                    if request.method == "GET" else None))
        if now - seen >= SEEN_REFRESH_SECONDS or "_seen" not in session:
            session["_seen"] = now
        if not session.permanent:  # the setter marks the session modified even when unchanged
            session.permanent = True
        return None

    @app.after_request
    def _security_headers(response):  # type: ignore[no-untyped-def]
        # Each header a view did not set itself. One pass over the response's headers:
        # werkzeug looks a name up by scanning them all, and five setdefault calls and
        # their lookups cost ~50 µs a page.
        h = response.headers
        present = {name.lower() for name, _value in h.items()}
        h.extend([(name, value) for lower, name, value in SECURITY_HEADERS
                  if lower not in present])
        if request.endpoint != "static":
            # Pages may hold personal data; never let a shared phone or proxy keep them.
            h["Cache-Control"] = "no-store"
            if "vary" not in present:
                h.add("Vary", "Cookie")
        elif response.status_code in (200, 304):
            _static_caching(response)
        return response


def _static_caching(response):  # type: ignore[no-untyped-def]
    """A static URL whose ?v= matches the file's content hash never changes: cache it for a
    year without revalidation (repeat visits on a slow phone cost the HTML only). Any other
    static URL may change in place, so it is revalidated with its ETag."""
    cc = response.cache_control
    filename = (request.view_args or {}).get("filename", "")
    try:
        current = _file_hash(filename)
    except OSError:
        current = None
    if current is not None and request.args.get("v") == current:
        cc.public = True
        cc.max_age = 365 * 24 * 3600
        cc.immutable = True
    else:
        cc.max_age = None
        cc.immutable = False
        cc.no_cache = True
        response.headers.pop("Expires", None)


@cache
def _file_hash(filename: str) -> str:
    return hashlib.sha256((STATIC_DIR / filename).read_bytes()).hexdigest()[:12]


@lru_cache(maxsize=4096)
def _signed_csrf(secret: str, raw: str) -> str:
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)


def csrf_token() -> str:
    """Flask-WTF's `generate_csrf`, but each session's token is signed once per process,
    not once per page (an HMAC, JSON and base64: ~30 µs of every page with a form).
    The same value Flask-WTF makes and checks; only its timestamp is that of the first
    signing, which matters only with a `WTF_CSRF_TIME_LIMIT` (then this defers to it)."""
    if (token := g.get("csrf_token")) is not None:  # a page asks for it once per form
        return token
    raw = session.get("csrf_token")
    if not isinstance(raw, str) or current_app.config.get("WTF_CSRF_TIME_LIMIT") is not None:
        return generate_csrf()
    secret = current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    g.csrf_token = token = _signed_csrf(str(secret), raw)  # where generate_csrf looks
    return token


@lru_cache(maxsize=16)
def _gettext_callables(translations: Translations) -> dict[str, object]:
    """The template i18n functions, bound to one catalogue: Flask-Babel's own globals
    resolve the locale and its catalogue again for every string a page translates. Built
    once per catalogue (Flask-Babel keeps one per language), not once per render."""
    gettext = _kept_gettext(translations.ugettext)
    return {
        "gettext": gettext,
        "_": gettext,
        "ngettext": _make_new_ngettext(translations.ungettext),
        "pgettext": _make_new_pgettext(translations.upgettext),
        "npgettext": _make_new_npgettext(translations.unpgettext),
    }


def _kept_gettext(ugettext: Callable[[str], str]) -> Callable[..., str]:
    """Jinja's newstyle `gettext` (autoescaped, then %-formatted), keeping what each fixed
    label became: a page shows a dozen of them, and each went through the catalogue,
    Markup and `%` again on every render (~8 µs). Strings with variables are formatted
    as usual."""
    newstyle = _make_new_gettext(ugettext)

    @lru_cache(maxsize=4096)
    def fixed(string: str, autoescape: bool) -> str:
        rv = ugettext(string)
        # Our own catalogue, trusted as newstyle trusts it; "%%" becomes "%" as there.
        return (Markup(rv) if autoescape else rv) % {}  # noqa: S704

    @pass_context
    def gettext(ctx: Context, string: str, /, **variables: object) -> str:
        if variables or type(string) is not str:
            return newstyle(ctx, string, **variables)
        return fixed(string, ctx.eval_ctx.autoescape)

    return gettext


def _place() -> tuple[str | None, str | None, str]:
    """What a URL or a kept fragment depends on besides its own arguments: the group or
    department the page is under (the URL defaults fill them in) and the script root."""
    group, department = g.get("group"), g.get("department")
    return (group.slug if group is not None else None,
            department.code if department is not None else None, request.script_root)


#: `_place()` as the context processor found it for this render: the template helpers
#: read it from their template's context, not from `g` and `request` (three context-local
#: lookups) each time a page links somewhere.
PLACE = "harmnet_place"


def _place_of(ctx: Context) -> tuple[str | None, str | None, str]:
    place = ctx.get(PLACE)
    return place if place is not None else _place()  # a template rendered some other way


def _memoized_url_for(app: Flask):  # type: ignore[no-untyped-def]
    """`url_for` for templates, remembering what it built. A page links to a dozen
    endpoints, and werkzeug builds each one again on every render (~10 µs each). A URL is
    fixed by its endpoint, its values and `_place()`; all of them are in the key. Relative
    endpoints and `_external` and other options are built as usual."""
    build = app.url_for

    @lru_cache(maxsize=4096)
    def cached(endpoint: str, items: tuple, place: tuple) -> str:
        return build(endpoint, **dict(items))

    @pass_context
    def url_for(ctx: Context, endpoint: str, **values: object) -> str:
        if endpoint[:1] == ".":
            return build(endpoint, **values)
        if not values:  # most links: no generator, no sort
            return cached(endpoint, (), _place_of(ctx))
        if any(k[:1] == "_" for k in values):
            return build(endpoint, **values)
        try:
            return cached(endpoint, tuple(sorted(values.items())), _place_of(ctx))
        except TypeError:  # an unhashable value
            return build(endpoint, **values)

    return url_for


def _fragment_cache(size: int = 4096):  # type: ignore[no-untyped-def]
    """`fragment(name, **vary)`: render a template once and keep its HTML, for fragments
    whose output depends on nothing but their key: the template, `vary` (hashable),
    `_place()` and the language. The group menu and the home tiles are such fragments:
    links and translated labels, the same for every person of a role in a group, and a
    good part of each page's render."""
    from flask_babel import get_locale
    from markupsafe import Markup

    @lru_cache(maxsize=size)
    def cached(name: str, items: tuple, place: tuple, locale: str) -> Markup:
        return Markup(render_template(name, **dict(items)))  # noqa: S704 - autoescaped

    @pass_context
    def fragment(ctx: Context, name: str, **vary: object) -> Markup:
        return cached(name, tuple(sorted(vary.items())), _place_of(ctx),
                      ctx.get("locale") or str(get_locale()))

    return fragment


def install_template_helpers(app: Flask) -> None:
    from flask_babel import get_locale

    kept_url_for = _memoized_url_for(app)

    @pass_context
    def static_url(ctx: Context, filename: str) -> str:
        """A static URL carrying a content hash, so it can be cached for a year."""
        return kept_url_for(ctx, "static", filename=filename, v=_file_hash(filename))

    # `_gettext_callables` by language, so a render does not ask Flask-Babel for the
    # catalogue (~15 µs: it resolves the locale and its cache again).
    i18n_by_locale: dict[str, dict[str, object]] = {}

    def template_i18n(locale: str) -> dict[str, object]:
        found = i18n_by_locale.get(locale)
        if found is None:
            found = i18n_by_locale[locale] = _gettext_callables(get_translations())
        return found

    app.jinja_env.globals.update(static_url=static_url, get_locale=get_locale,
                                 url_for=kept_url_for, fragment=_fragment_cache())
    if app.debug:
        _file_hash.cache_clear()

    @app.context_processor
    def _inject():  # type: ignore[no-untyped-def]
        # Per render, so a page is in one language even if the locale changes between pages.
        locale = str(get_locale())
        return {
            "group": g.get("group"),
            "membership": g.get("membership"),
            "department": g.get("department"),
            "locale": locale,
            PLACE: _place() if has_request_context() else None,
            # Replaces Flask-WTF's, whose context processor ran before this one.
            "csrf_token": csrf_token,
            **template_i18n(locale),
        }


def _error_page(code: int, template: str | None = None):  # type: ignore[no-untyped-def]
    return render_template(template or f"errors/{code}.html", code=code), code


def install_error_handlers(app: Flask) -> None:
    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, lambda e, c=code: _error_handler(e, c))

    @app.errorhandler(CSRFError)
    def _csrf(e):  # type: ignore[no-untyped-def]
        return _error_page(400, "errors/csrf.html")


def _error_handler(error: Exception, code: int):  # type: ignore[no-untyped-def]
    if isinstance(error, HTTPException) and error.code != code:
        code = error.code or code
    if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
        from .problem import problem

        return problem(code)
    template = f"errors/{code}.html" if code in (403, 404, 429, 500) else "errors/generic.html"
    return _error_page(code, template)
