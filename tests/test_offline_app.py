"""The installable app's files: the worker from the site root with the release in it, the
manifest an install needs, and all JavaScript together within 15 KB compressed."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from tests.conftest import make_config

STATIC = Path(__file__).resolve().parent.parent / "harmnet" / "static"


def test_all_javascript_is_at_most_15_kb_compressed():
    scripts = sorted(STATIC.rglob("*.js"))
    assert {p.name for p in scripts} == {"offline.js", "sw.js"}
    total = sum(len(gzip.compress(p.read_bytes(), 9)) for p in scripts)
    assert total <= 15 * 1024, total


def test_the_worker_is_served_from_the_root_with_the_release_and_the_shell(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    body = response.get_data(as_text=True)
    version = re.search(r"const VERSION = '([0-9a-f]{12})';", body)
    assert version, "the release version is filled in"
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", body).group(1))
    assert any(url.startswith("/static/offline.js?v=") for url in shell)
    for url in shell:  # every URL the worker keeps at install exists
        assert client.get(url).status_code == 200


def test_a_new_release_is_a_new_version(database):
    from harmnet import create_app

    versions = set()
    for release in ("2026.12.1", "2026.12.2"):
        app = create_app(make_config(database, RELEASE=release))
        body = app.test_client().get("/sw.js").get_data(as_text=True)
        versions.add(re.search(r"const VERSION = '([0-9a-f]{12})';", body).group(1))
    assert len(versions) == 2  # so every phone drops the pages the old release kept


def test_the_manifest_has_what_an_install_needs(client):
    response = client.get("/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json()
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200


def test_signed_out_pages_carry_no_script(client):
    html = client.get("/login").get_data(as_text=True)
    assert "<script" not in html
    assert 'rel="manifest"' in html
