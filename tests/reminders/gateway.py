"""A real local SMS gateway for the tests: HTTP on 127.0.0.1, keyed by idempotency key."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # A sender SIGKILLed mid-request resets the connection: expected in the fault test.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class Gateway:
    """Accepts POST {to, text, idempotency_key}; refuses a repeated key with 409, as a real
    gateway with idempotency does. `posts` counts every POST per key (a count of 2 would be a
    duplicate attempt); `receipts` holds the delivered messages."""

    def __init__(self, mode: str = "ok", token: str = "test-token",  # noqa: S107
                 delay: float = 0.0) -> None:
        self.mode = mode  # ok | 503 | 429 | 400 | flaky
        #: Seconds each POST takes before it is answered (a slow provider): keeps a first
        #: send in flight while a second one races it.
        self.delay = delay
        self.token = token
        self.posts: Counter[str] = Counter()
        self.receipts: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.auth_failures = 0
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, data: dict) -> None:
                raw = json.dumps(data).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender was killed mid-request

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if len(raw) < length:
                    return  # the sender died mid-request: nothing arrived
                if gateway.delay:
                    time.sleep(gateway.delay)
                self._post(json.loads(raw or b"{}"))

            def _post(self, body: dict) -> None:
                if self.headers.get("Authorization") != f"Bearer {gateway.token}":
                    gateway.auth_failures += 1
                    return self._answer(401, {"error": "unauthorized"})
                key = body.get("idempotency_key")
                if key != self.headers.get("Idempotency-Key"):
                    return self._answer(400, {"error": "key_mismatch"})
                with gateway.lock:
                    gateway.posts[key] += 1
                    attempt = gateway.posts[key]
                    if gateway.mode in ("503", "429"):
                        return self._answer(int(gateway.mode), {"error": "busy"})
                    if gateway.mode == "flaky" and attempt == 1:
                        return self._answer(503, {"error": "busy"})
                    if gateway.mode == "400" or not str(body.get("to", "")).startswith("+"):
                        # A provider message that echoes the number must never be stored.
                        return self._answer(400, {"error": "invalid_number",
                                                  "message": f"bad number {body.get('to')}"})
                    if key in gateway.receipts:
                        return self._answer(409, {"id": gateway.receipts[key]["id"]})
                    receipt = {"id": f"gw-{len(gateway.receipts) + 1}", "to": body["to"],
                               "text": body["text"]}
                    gateway.receipts[key] = receipt
                return self._answer(200, {"id": receipt["id"]})

            def do_GET(self) -> None:  # noqa: N802
                key = unquote(self.path.rsplit("/", 1)[-1])
                with gateway.lock:
                    receipt = gateway.receipts.get(key)
                if receipt is None:
                    return self._answer(404, {"error": "not_found"})
                return self._answer(200, {"id": receipt["id"]})

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/sms"

    def duplicates(self) -> dict[str, int]:
        return {k: n for k, n in self.posts.items() if n > 1}

    def __enter__(self) -> Gateway:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
