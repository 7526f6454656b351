"""Flask-Compress, keeping what it compressed.

Many responses are the same bytes again and again: a peer educator's home page, reloaded
between every task of the day, is the same page until something in it changes. Flask-Compress
can keep compressed bodies (its `COMPRESS_CACHE_BACKEND` and `COMPRESS_CACHE_KEY`); we key
them by a digest of the body itself, so a kept entry can only ever be that very body
compressed: never another page, another person's page, or a page as it was before a change.
Compressing the home page costs more than a tenth of its CPU; a digest costs a hundredth.
"""

from __future__ import annotations

import hashlib

from flask import Flask, Request, Response, g
from flask_compress import Compress as _Compress

from .kept import Kept

_RESPONSE = "_compress_response"


def body_key(request: Request) -> str:
    """COMPRESS_CACHE_KEY: the digest of the body being compressed (Flask-Compress adds the
    algorithm). Flask-Compress passes only the request, so `Compress.after_request` puts
    the response where this finds it."""
    body = g.get(_RESPONSE).get_data()
    return hashlib.blake2b(body, digest_size=20).hexdigest()


class Compress(_Compress):
    """Flask-Compress with its cache of compressed bodies on, keyed by `body_key`. Kept
    bodies are pages, so personal data: in this process's memory only (`Kept`).
    `COMPRESS_KEEP_BYTES` (0 turns the cache off) and `COMPRESS_KEEP_ITEM_BYTES` bound it."""

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        budget = int(app.config.get("COMPRESS_KEEP_BYTES", 0))
        if budget > 0 and self.cache is None:
            item = int(app.config.get("COMPRESS_KEEP_ITEM_BYTES", 64 * 1024))
            self.cache = Kept[bytes](budget, item)
            self.cache_key = body_key

    def after_request(self, response: Response) -> Response:
        if self.cache is None or response is None:
            return super().after_request(response)
        setattr(g, _RESPONSE, response)
        try:
            return super().after_request(response)
        finally:
            g.pop(_RESPONSE, None)
