"""Optional push of new snapshots to a department's DHIS2-compatible endpoint."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from sqlalchemy import select

from ..access import department_ancestor_ids
from ..extensions import db
from ..models import Dhis2Push, Dhis2Settings, ReportSnapshot
from ..models._types import utcnow
from . import exports

TIMEOUT_SECONDS = 20
MAX_ATTEMPTS = 5


@dataclass
class Outcome:
    ok: bool
    retry: bool
    http_status: int | None
    message: str


def settings_for(department_id: int) -> Dhis2Settings | None:
    return db.session.scalar(
        select(Dhis2Settings).where(Dhis2Settings.department_id == department_id))


def save_settings(department_id: int, url: str, username: str, password: str | None,
                  enabled: bool) -> Dhis2Settings:
    row = settings_for(department_id)
    if row is None:
        row = Dhis2Settings(department_id=department_id, url=url)
        db.session.add(row)
    row.url, row.username, row.enabled = url, username, enabled
    if password:  # an empty field keeps the stored password
        row.password = password
    db.session.flush()
    return row


def push_targets(snapshot: ReportSnapshot) -> list[int]:
    """Departments along the snapshot's chain that push to DHIS2."""
    chain = department_ancestor_ids(snapshot.department_id)
    return list(db.session.scalars(
        select(Dhis2Settings.department_id)
        .where(Dhis2Settings.department_id.in_(chain), Dhis2Settings.enabled.is_(True))
    ))


def start_push(department_id: int, snapshot_id: int) -> Dhis2Push:
    push = Dhis2Push(department_id=department_id, snapshot_id=snapshot_id)
    db.session.add(push)
    db.session.flush()
    return push


def _summary(body: bytes) -> str:
    """The import counts of a DHIS2 import summary (old and new response shapes)."""
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return ""
    if isinstance(data, dict) and isinstance(data.get("response"), dict):
        data = data["response"]
    counts = data.get("importCount") if isinstance(data, dict) else None
    if not isinstance(counts, dict):
        return str(data.get("status", ""))[:40] if isinstance(data, dict) else ""
    parts = [f"{k}={int(counts.get(k, 0))}" for k in ("imported", "updated", "ignored",
                                                      "deleted")]
    return " ".join([str(data.get("status", "")), *parts]).strip()


def send(settings: Dhis2Settings, document: dict) -> Outcome:
    """POST a dataValueSets document; classify the answer (retry on 429, 5xx, network)."""
    query = urllib.parse.urlencode({"idScheme": "CODE", "importStrategy": "CREATE_AND_UPDATE"})
    url = settings.url + ("&" if "?" in settings.url else "?") + query
    if not url.startswith(("http://", "https://")):
        return Outcome(False, False, None, "bad_url")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=json.dumps(document).encode(), method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    if settings.username:
        token = base64.b64encode(f"{settings.username}:{settings.password or ''}".encode())
        request.add_header("Authorization", "Basic " + token.decode())
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return Outcome(True, False, response.status, _summary(response.read()))
    except urllib.error.HTTPError as exc:
        retry = exc.code == 429 or exc.code >= 500
        return Outcome(False, retry, exc.code, _summary(exc.read()) or f"http_{exc.code}")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return Outcome(False, True, None, type(exc).__name__)


def attempt(push_id: int) -> Outcome:
    """One attempt of a push; records the result on the push row (the caller commits)."""
    push = db.session.get(Dhis2Push, push_id)
    assert push is not None
    snapshot = db.session.get(ReportSnapshot, push.snapshot_id)
    settings = settings_for(push.department_id)
    push.attempts += 1
    if settings is None or not settings.enabled or snapshot is None:
        outcome = Outcome(False, False, None, "disabled")
    else:
        codes = exports.code_map(push.department_id)
        outcome = send(settings, exports.to_dhis2(exports.rows([snapshot]), codes))
    push.http_status = outcome.http_status
    push.message = outcome.message[:300]
    final = outcome.ok or not outcome.retry or push.attempts >= MAX_ATTEMPTS
    push.status = "ok" if outcome.ok else ("failed" if final else "pending")
    if final:
        push.finished_at = utcnow()
    db.session.flush()
    return Outcome(outcome.ok, outcome.retry and not final, outcome.http_status, outcome.message)


def recent_pushes(department_id: int, limit: int = 20) -> list[Dhis2Push]:
    return list(db.session.scalars(
        select(Dhis2Push).where(Dhis2Push.department_id == department_id)
        .order_by(Dhis2Push.id.desc()).limit(limit)))
