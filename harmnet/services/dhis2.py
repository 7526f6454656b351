"""Optional push of new snapshots to a department's DHIS2-compatible endpoint.

At group level (the default) a new version of a group's period is sent under the group's
org unit; at department level the period's figures of the whole subtree are added up (as
the department-level exports do) and sent under the department's org unit, once per
period however many groups changed. Values go with CREATE_AND_UPDATE; those the previous
push published and this one no longer does (a cell now suppressed, a total now left out)
are withdrawn with a second request under DHIS2's DELETE import strategy. The server's
import summary is read value by value: its conflicts are recorded on the push, not just
the HTTP status."""

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
LEVELS = ("group", "department")


@dataclass
class Outcome:
    ok: bool
    retry: bool
    http_status: int | None
    message: str
    conflicts: int = 0


def settings_for(department_id: int) -> Dhis2Settings | None:
    return db.session.scalar(
        select(Dhis2Settings).where(Dhis2Settings.department_id == department_id))


def save_settings(department_id: int, url: str, username: str, password: str | None,
                  enabled: bool, level: str = "group") -> Dhis2Settings:
    if level not in LEVELS:
        raise ValueError("level")
    row = settings_for(department_id)
    if row is None:
        row = Dhis2Settings(department_id=department_id, url=url)
        db.session.add(row)
    row.url, row.username, row.enabled, row.level = url, username, enabled, level
    if password:  # an empty field keeps the stored password
        row.password = password
    db.session.flush()
    return row


def start_pushes(snapshots: list[ReportSnapshot]) -> list[int]:
    """Push rows for new snapshots: one per department and snapshot at group level, one per
    department and period at department level (its roll-up covers every group)."""
    chains = {s.department_id: department_ancestor_ids(s.department_id) for s in snapshots}
    wanted = set().union(*chains.values()) if chains else set()
    levels = dict(db.session.execute(
        select(Dhis2Settings.department_id, Dhis2Settings.level)
        .where(Dhis2Settings.department_id.in_(wanted), Dhis2Settings.enabled.is_(True))
    ).all()) if wanted else {}
    out: list[int] = []
    seen: set[tuple[int, str]] = set()
    for snapshot in snapshots:
        for dept in chains[snapshot.department_id]:
            if dept not in levels:
                continue
            if levels[dept] == "department":
                if (dept, snapshot.period) in seen:
                    continue
                seen.add((dept, snapshot.period))
            out.append(start_push(dept, snapshot.id).id)
    return out


def start_push(department_id: int, snapshot_id: int) -> Dhis2Push:
    push = Dhis2Push(department_id=department_id, snapshot_id=snapshot_id)
    db.session.add(push)
    db.session.flush()
    return push


def _summary(body: bytes) -> tuple[str, int]:
    """The import counts and conflicts of a DHIS2 import summary (old and new response
    shapes): a short text, and how many values the server refused."""
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return "", 0
    if isinstance(data, dict) and isinstance(data.get("response"), dict):
        data = data["response"]
    if not isinstance(data, dict):
        return "", 0
    conflicts = data.get("conflicts") if isinstance(data.get("conflicts"), list) else []
    counts = data.get("importCount")
    if not isinstance(counts, dict):
        text = str(data.get("status", ""))[:40]
    else:
        parts = [f"{k}={int(counts.get(k, 0))}" for k in ("imported", "updated", "ignored",
                                                          "deleted")]
        text = " ".join([str(data.get("status", "")), *parts]).strip()
    if conflicts:
        # The server names the refused code and why (codes and counts: nothing personal).
        said = "; ".join(f"{c.get('object') or ','.join(map(str, c.get('objects') or {}))}: "
                         f"{c.get('value', '')}" for c in conflicts if isinstance(c, dict))
        text += f" conflicts={len(conflicts)}: {said}"
    return text, len(conflicts)


def send(settings: Dhis2Settings, document: dict, strategy: str = "CREATE_AND_UPDATE"
         ) -> Outcome:
    """POST a dataValueSets document; classify the answer (retry on 429, 5xx, network)."""
    query = urllib.parse.urlencode({"idScheme": "CODE", "importStrategy": strategy})
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
            text, conflicts = _summary(response.read())
            return Outcome(True, False, response.status, text, conflicts)
    except urllib.error.HTTPError as exc:
        retry = exc.code == 429 or exc.code >= 500
        text, conflicts = _summary(exc.read())
        return Outcome(False, retry, exc.code, text or f"http_{exc.code}", conflicts)
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
        if settings.level == "department":
            document = exports.to_dhis2(
                exports.rollup_rows(push.department_id, [snapshot.period]), codes)
            gone = withdrawn_rollup(push, snapshot.period, document)
            push.sent = [list(_key(v)) for v in document["dataValues"]]
        else:
            document = exports.to_dhis2(exports.rows([snapshot]), codes)
            gone = withdrawn(snapshot, document, codes)
        outcome = send(settings, document)
        if outcome.ok and gone:
            removal = send(settings, {"dataSet": document["dataSet"], "dataValues": gone},
                           "DELETE")
            outcome = Outcome(removal.ok, removal.retry, removal.http_status,
                              f"{outcome.message} | withdrawn={len(gone)} {removal.message}",
                              outcome.conflicts + removal.conflicts)
    push.http_status = outcome.http_status
    push.message = outcome.message[:300]
    final = outcome.ok or not outcome.retry or push.attempts >= MAX_ATTEMPTS
    push.status = ("partial" if outcome.conflicts else "ok") if outcome.ok else (
        "failed" if final else "pending")
    if final:
        push.finished_at = utcnow()
    db.session.flush()
    return Outcome(outcome.ok, outcome.retry and not final, outcome.http_status, outcome.message)


def _key(value: dict) -> tuple:
    return (value["dataElement"], value["period"], value["orgUnit"],
            value["categoryOptionCombo"])


def withdrawn(snapshot: ReportSnapshot, document: dict, codes: exports.CodeMap) -> list[dict]:
    """The values the previous version of the snapshot's period published that `document`
    (the new version's) no longer holds: they are deleted on the server."""
    previous = db.session.scalar(
        select(ReportSnapshot).where(ReportSnapshot.group_id == snapshot.group_id,
                                     ReportSnapshot.period == snapshot.period,
                                     ReportSnapshot.version < snapshot.version)
        .order_by(ReportSnapshot.version.desc()).limit(1))
    if previous is None:
        return []
    kept = {_key(v) for v in document["dataValues"]}
    return [v for v in exports.dhis2_values(exports.rows([previous]), codes)
            if _key(v) not in kept]


def withdrawn_rollup(push: Dhis2Push, period: str, document: dict) -> list[dict]:
    """The keys the department's previous successful push of `period` sent that `document`
    no longer holds (a cell some group now hides, a total now left out)."""
    previous = db.session.scalar(
        select(Dhis2Push.sent).join(ReportSnapshot, ReportSnapshot.id == Dhis2Push.snapshot_id)
        .where(Dhis2Push.department_id == push.department_id, Dhis2Push.id != push.id,
               Dhis2Push.status.in_(("ok", "partial")), Dhis2Push.sent.is_not(None),
               ReportSnapshot.period == period)
        .order_by(Dhis2Push.id.desc()).limit(1))
    kept = {_key(v) for v in document["dataValues"]}
    return [dict(zip(("dataElement", "period", "orgUnit", "categoryOptionCombo"), key,
                     strict=True))
            for key in map(tuple, previous or []) if key not in kept]


def recent_pushes(department_id: int, limit: int = 20) -> list[Dhis2Push]:
    return list(db.session.scalars(
        select(Dhis2Push).where(Dhis2Push.department_id == department_id)
        .order_by(Dhis2Push.id.desc()).limit(limit)))
