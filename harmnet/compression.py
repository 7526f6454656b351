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
import threading
from collections import OrderedDict

from flask import Flask, Request, Response, g
from flask_compress import Compress as _Compress

_RESPONSE = "_compress_response"


class KeptBodies:
    """Compressed bodies by key, least recently used first out, within a byte budget.
    Per process and in memory only: it holds pages, which may hold personal data, so it
    must never be a shared or persistent store."""

    def __init__(self, max_bytes: int, max_item_bytes: int) -> None:
        self.max_bytes, self.max_item_bytes = max_bytes, max_item_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # gthread workers serve several requests at once

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def set(self, key: str, value: bytes) -> None:
        if len(value) > self.max_item_bytes:  # an export: rare, and it would evict pages
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._bytes += len(value) - (len(old) if old is not None else 0)
            self._items[key] = value
            while self._bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= len(evicted)

    def __len__(self) -> int:
        return len(self._items)


def body_key(request: Request) -> str:
    """COMPRESS_CACHE_KEY: the digest of the body being compressed (Flask-Compress adds the
    algorithm). Flask-Compress passes only the request, so `Compress.after_request` puts
    the response where this finds it."""
    body = g.get(_RESPONSE).get_data()
    return hashlib.blake2b(body, digest_size=20).hexdigest()


class Compress(_Compress):
    """Flask-Compress with its cache of compressed bodies on, keyed by `body_key`.
    `COMPRESS_KEEP_BYTES` (0 turns the cache off) and `COMPRESS_KEEP_ITEM_BYTES` bound it."""

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        budget = int(app.config.get("COMPRESS_KEEP_BYTES", 0))
        if budget > 0 and self.cache is None:
            self.cache = KeptBodies(budget, int(app.config.get("COMPRESS_KEEP_ITEM_BYTES",
                                                               64 * 1024)))
            self.cache_key = body_key

    def after_request(self, response: Response) -> Response:
        if self.cache is None or response is None:
            return super().after_request(response)
        setattr(g, _RESPONSE, response)
        try:
            return super().after_request(response)
        finally:
            g.pop(_RESPONSE, None)
