"""Fixed settings shared by the data generator and the load test (bench only, not secrets).

The generated database holds encrypted member phones and appointment contact values, so the
server that the load test starts must use the same Fernet key as the generator. These keys
protect synthetic data only; never reuse them anywhere real.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

#: Password of every generated login (peer educators, coordinators, department staff).
PASSWORD = "bench-pass-2024"

#: Role the app connects as (neither owner nor superuser, so RLS applies).
APP_ROLE = "harmnet_app"

BENCH_ENV = {
    "SECRET_KEY": "bench-only-secret-key-0123456789abcdef0123456789",
    "HARMNET_ENCRYPTION_KEYS": "YmVuY2gtb25seS1mZXJuZXQta2V5LTAxMjM0NTY3ODk=",
    "HARMNET_PSEUDONYM_KEY": "bench-only-pseudonym-key",
}

DEFAULT_SMALL_URL = "postgresql://postgres@127.0.0.1:5432/harmnet_bench_small"
DEFAULT_BIG_URL = "postgresql://postgres@127.0.0.1:5432/harmnet_bench"


def libpq_url(url: str) -> str:
    """A URL psycopg (libpq) accepts: drop SQLAlchemy's +driver suffix."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def app_url(owner_url: str, role: str = APP_ROLE) -> str:
    """The same database, reached as the app role instead of the owner."""
    from sqlalchemy import make_url

    return make_url(libpq_url(owner_url)).set(username=role, password=None).render_as_string(
        hide_password=False
    )


def fernet_key() -> str:
    keys = os.environ.get("HARMNET_ENCRYPTION_KEYS") or BENCH_ENV["HARMNET_ENCRYPTION_KEYS"]
    return keys.split(",")[0].strip()
