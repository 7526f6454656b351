"""/sw.js and /manifest.webmanifest, served from the root so the worker's scope is the site."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Response, current_app, url_for

from ..web import static_url
from . import bp

ROOT = Path(__file__).resolve().parent.parent.parent
WORKER = ROOT / "harmnet" / "static" / "sw.js"
#: What a release changes: a new version makes every phone drop its cached pages.
VERSIONED = ("harmnet/static", "templates", "harmnet/translations")
SHELL = ("app.css", "offline.js", "icons/icon-192.png")


def release_version() -> str:
    """A hash of the static files, templates and catalogues (or RELEASE when set), read
    once per process: a release replaces both the files and the processes."""
    known = current_app.extensions.get("harmnet_release")
    if known is None:
        digest = hashlib.sha256(current_app.config.get("RELEASE", "").encode())
        for folder in VERSIONED:
            for path in sorted((ROOT / folder).rglob("*")):
                if path.is_file() and path.suffix != ".mo":
                    digest.update(path.name.encode())
                    digest.update(path.read_bytes())
        known = current_app.extensions["harmnet_release"] = digest.hexdigest()[:12]
    return known


@bp.get("/sw.js")
def worker():  # type: ignore[no-untyped-def]
    source = WORKER.read_text(encoding="utf-8")
    source = source.replace("__VERSION__", release_version()).replace(
        "__SHELL__", json.dumps([static_url(name) for name in SHELL]))
    # Like every non-static answer it is sent no-store, so a phone always sees a release.
    return Response(source, mimetype="text/javascript")


@bp.get("/manifest.webmanifest")
def manifest():  # type: ignore[no-untyped-def]
    body = {
        "name": "harmnet",
        "short_name": "harmnet",
        # The root sends a signed-in person to their group (the form is one tap away),
        # and offline the worker answers it with the cached contact form.
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5c8c",
        "icons": [
            {"src": url_for("static", filename="icons/icon-192.png"), "sizes": "192x192",
             "type": "image/png", "purpose": "any"},
            {"src": url_for("static", filename="icons/icon-512.png"), "sizes": "512x512",
             "type": "image/png", "purpose": "any"},
        ],
    }
    return Response(json.dumps(body), mimetype="application/manifest+json")
