"""Member import from CSV or XLSX: parse, check every cell, flag duplicates, insert all or none.

The uploaded file waits between preview and confirmation in a server-side file, encrypted
with the app's Fernet keys and named by a random token; the token travels in the confirm
form's body, never in a URL or the session cookie. Files expire after `UPLOAD_TTL`.
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import time
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import insert, select

from ..extensions import db
from ..forms import clean_text
from ..models import Member
from ..models._types import utcnow
from ..security import fernet
from ..tenancy import require_group_id
from . import audit
from .members import normalise_alias, normalise_phone

MAX_ROWS = 10_000
MAX_COLUMNS = 40
MAX_NOTES = 2000
UPLOAD_TTL = 3600  # seconds a previewed file waits for its confirmation
MIN_BIRTH_YEAR = 1930
MIN_JOINED = date(1990, 1, 1)

#: The columns we read, in template order.
COLUMNS = ("alias", "role_in_group", "status", "joined_on", "gender", "birth_year", "phone",
           "reminder_consent", "notes")


def _fold(value: str) -> str:
    """Lower-case, without diacritics, đ as d, separators as single spaces (for matching)."""
    value = unicodedata.normalize("NFKD", value.replace("đ", "d").replace("Đ", "D"))
    value = "".join(c for c in value if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[_\-./]+", " ", value).split())


#: Header spellings we accept (English, Vietnamese, with or without diacritics).
HEADER_NAMES = {
    "alias": ["alias", "name", "bi danh", "ten goi", "ten", "ho ten"],
    "role_in_group": ["role in group", "role", "vai tro", "vai tro trong nhom"],
    "status": ["status", "trang thai"],
    "joined_on": ["joined on", "joined", "date joined", "ngay tham gia", "ngay vao nhom"],
    "gender": ["gender", "sex", "gioi tinh", "gioi"],
    "birth_year": ["birth year", "year of birth", "nam sinh"],
    "phone": ["phone", "phone number", "dien thoai", "so dien thoai", "sdt"],
    "reminder_consent": ["reminder consent", "reminders", "dong y nhac", "nhac lich",
                         "dong y nhan nhac"],
    "notes": ["notes", "note", "ghi chu"],
}
_HEADERS = {_fold(name): col for col, names in HEADER_NAMES.items() for name in names}

_ROLE_VALUES = {
    "peer_educator": ["peer educator", "peer_educator", "dong dang vien", "ddv", "dong dang"],
    "volunteer": ["volunteer", "tinh nguyen vien", "tnv"],
    "club_member": ["club member", "club_member", "member", "thanh vien", "thanh vien clb",
                    "thanh vien cau lac bo", "hoi vien"],
    "collaborator": ["collaborator", "community collaborator", "cong tac vien", "ctv",
                     "cong tac vien cong dong"],
}
_STATUS_VALUES = {
    "active": ["active", "dang hoat dong", "hoat dong"],
    "paused": ["paused", "tam nghi", "tam dung"],
    "left": ["left", "da nghi", "da roi", "roi nhom", "nghi"],
}
_GENDER_VALUES = {
    "F": ["f", "female", "woman", "nu", "phu nu"],
    "M": ["m", "male", "man", "nam"],
    "T": ["t", "transgender", "trans", "chuyen gioi"],
    "X": ["x", "not said", "khong noi", "khong muon noi"],
}
_BOOL_VALUES = {
    True: ["yes", "y", "true", "1", "x", "co", "dong y"],
    False: ["no", "n", "false", "0", "khong", "khong dong y"],
}


def _lookup(table: dict) -> dict[str, object]:
    return {_fold(v): code for code, values in table.items() for v in values}


ROLE_LOOKUP = _lookup(_ROLE_VALUES)
STATUS_LOOKUP = _lookup(_STATUS_VALUES)
GENDER_LOOKUP = _lookup(_GENDER_VALUES)
BOOL_LOOKUP = _lookup(_BOOL_VALUES)


@dataclass(frozen=True)
class Problem:
    """One reason a file cannot be imported. `row` is the spreadsheet row (header = 1)."""

    code: str
    row: int | None = None
    column: str | None = None  # one of COLUMNS, or None for the whole row or file
    letter: str | None = None  # the spreadsheet column letter
    params: tuple = ()


@dataclass(frozen=True)
class Duplicate:
    row: int
    alias: str
    #: "existing" (a member of the group has this alias) or "in_file" (an earlier row has it)
    kind: str
    first_row: int | None = None


@dataclass
class Parsed:
    rows: list[dict] = field(default_factory=list)
    #: The spreadsheet row number of each entry of `rows`.
    row_numbers: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows)

    @property
    def bad_rows(self) -> list[int]:
        return sorted({p.row for p in self.problems if p.row is not None})


class FileProblem(Exception):
    def __init__(self, code: str, *params: object) -> None:
        super().__init__(code)
        self.problem = Problem(code, params=params)


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# --- reading the file ---------------------------------------------------------------------


def _read_csv(data: bytes) -> list[list[object]]:
    encoding = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise FileProblem("not_utf8") from None
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows: list[list[object]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), dialect):
            rows.append(list(row[:MAX_COLUMNS]))
            if len(rows) > MAX_ROWS + 1:
                raise FileProblem("too_many_rows", MAX_ROWS)
    except csv.Error:
        raise FileProblem("unreadable_csv") from None
    return rows


#: What a member list's workbook can unpack to. A 10,000-row sheet of our columns is a
#: few MB of XML; a zip bomb is a small file that inflates to gigabytes.
MAX_ZIP_MEMBERS = 200
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024
#: Inflated/compressed size above which a part is refused (a real sheet is 5-30x; a bomb is
#: 1000x), counted only for parts above 1 MB, where a tiny part's high ratio means nothing.
MAX_ZIP_RATIO = 200
_RATIO_FROM = 1024 * 1024


def check_zip(data: bytes) -> None:
    """Refuse a workbook that unpacks to too much, before any XML is parsed: each part's
    declared size and ratio, then its actual size, inflated in chunks and counted (a
    declared size may lie), so neither time nor memory grow with what the file claims."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise FileProblem("unreadable_xlsx") from None
    if len(parts) > MAX_ZIP_MEMBERS:
        raise FileProblem("zip_bomb")
    declared = 0
    for part in parts:
        declared += part.file_size
        ratio = part.file_size / max(part.compress_size, 1)
        too_dense = part.file_size > _RATIO_FROM and ratio > MAX_ZIP_RATIO
        if declared > MAX_UNZIPPED_BYTES or too_dense:
            raise FileProblem("zip_bomb")
    actual = 0
    try:
        for part in parts:
            with archive.open(part) as stream:
                while chunk := stream.read(1024 * 1024):
                    actual += len(chunk)
                    if actual > MAX_UNZIPPED_BYTES:
                        raise FileProblem("zip_bomb")
    except FileProblem:
        raise
    except Exception:  # noqa: BLE001 - a broken or encrypted part: not a readable workbook
        raise FileProblem("unreadable_xlsx") from None


def _read_xlsx(data: bytes) -> list[list[object]]:
    # openpyxl parses through defusedxml when it is installed (a dependency): no entity
    # expansion ("billion laughs") and no external entities.
    from openpyxl import load_workbook

    check_zip(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any failure to open is "not a readable workbook"
        raise FileProblem("unreadable_xlsx") from None
    rows: list[list[object]] = []
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
            rows.append(list(row))
            if len(rows) > MAX_ROWS + 1:
                raise FileProblem("too_many_rows", MAX_ROWS)
    except FileProblem:
        raise
    except Exception:  # noqa: BLE001
        raise FileProblem("unreadable_xlsx") from None
    finally:
        workbook.close()
    return rows


def read_table(data: bytes, filename: str = "") -> list[list[object]]:
    """The file's cells, row by row; raises FileProblem when it cannot be read."""
    if not data:
        raise FileProblem("empty_file")
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0") or filename.lower().endswith(".xls"):
        raise FileProblem("old_excel")
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblem("not_a_table")
    return _read_csv(data)


# --- checking the cells -------------------------------------------------------------------


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(clean_text(str(value)))


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if m:
        y, mo, d = (int(x) for x in m.groups())
    else:
        # Vietnamese spreadsheets write day first: 25/12/2023.
        m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
        if not m:
            raise ValueError
        d, mo, y = (int(x) for x in m.groups())
    return date(y, mo, d)


def check_rows(table: list[list[object]], *, today: date | None = None) -> Parsed:
    """Check every cell of a table whose first non-empty row is the header."""
    today = today or date.today()
    result = Parsed()
    while table and all(_text(c) == "" for c in table[0]):
        table = table[1:]
    if not table:
        result.problems.append(Problem("empty_file"))
        return result
    header_row = table[0]
    columns: dict[str, int] = {}
    for index, cell in enumerate(header_row):
        name = _text(cell)
        if not name:
            continue
        col = _HEADERS.get(_fold(name))
        if col is None:
            result.ignored_columns.append(name)
        elif col in columns:
            result.problems.append(Problem("duplicate_column", 1, col, _letter(index)))
        else:
            columns[col] = index
    if "alias" not in columns:
        result.problems.append(Problem("no_alias_column"))
        return result

    for offset, raw in enumerate(table[1:], start=2):
        cells = {col: raw[i] if i < len(raw) else None for col, i in columns.items()}
        if all(_text(v) == "" for v in cells.values()):
            continue  # blank lines are skipped, not errors

        def bad(col: str, code: str, *params: object, _row: int = offset) -> None:
            result.problems.append(Problem(code, _row, col, _letter(columns[col]), params))

        before = len(result.problems)
        alias = _text(cells.get("alias"))
        if not alias:
            bad("alias", "required")
        elif len(alias) > 80:
            bad("alias", "too_long", 80)
        elif "<" in alias or ">" in alias:
            bad("alias", "angle_brackets")

        role = "peer_educator"
        if _text(cells.get("role_in_group")):
            role = ROLE_LOOKUP.get(_fold(_text(cells["role_in_group"])))  # type: ignore[assignment]
            if role is None:
                bad("role_in_group", "unknown_role")
        status = "active"
        if _text(cells.get("status")):
            status = STATUS_LOOKUP.get(_fold(_text(cells["status"])))  # type: ignore[assignment]
            if status is None:
                bad("status", "unknown_status")
        joined_on = None
        if _text(cells.get("joined_on")):
            try:
                joined_on = _date(cells["joined_on"])
            except (ValueError, OverflowError):
                bad("joined_on", "bad_date")
            else:
                if joined_on is not None and not MIN_JOINED <= joined_on <= today:
                    bad("joined_on", "date_out_of_range", MIN_JOINED.isoformat(),
                        today.isoformat())
        gender = None
        if _text(cells.get("gender")):
            gender = GENDER_LOOKUP.get(_fold(_text(cells["gender"])))
            if gender is None:
                bad("gender", "unknown_gender")
        birth_year = None
        if _text(cells.get("birth_year")):
            text = _text(cells["birth_year"])
            if not text.isdigit():
                bad("birth_year", "not_a_year")
            else:
                birth_year = int(text)
                if not MIN_BIRTH_YEAR <= birth_year <= today.year - 12:
                    bad("birth_year", "year_out_of_range", MIN_BIRTH_YEAR, today.year - 12)
        phone = None
        if _text(cells.get("phone")):
            text = _text(cells["phone"])
            # A spreadsheet keeps phones as numbers and drops the leading 0 (912345678).
            if isinstance(cells["phone"], int | float) and len(text) == 9:
                text = "0" + text
            phone = normalise_phone(text)
            if phone is None:
                bad("phone", "bad_phone")
        consent = False
        if _text(cells.get("reminder_consent")):
            found = BOOL_LOOKUP.get(_fold(_text(cells["reminder_consent"])))
            if found is None:
                bad("reminder_consent", "not_yes_no")
            else:
                consent = bool(found)
                if consent and phone is None and not _text(cells.get("phone")):
                    bad("reminder_consent", "consent_without_phone")
        notes = _text(cells.get("notes"))
        if len(notes) > MAX_NOTES:
            bad("notes", "too_long", MAX_NOTES)

        if len(result.problems) == before:
            result.rows.append({
                "alias": alias, "role_in_group": role, "status": status,
                "joined_on": joined_on, "gender": gender, "birth_year": birth_year,
                "phone": phone, "reminder_consent": consent, "notes": notes,
                "paused_on": today if status == "paused" else None,
                "left_on": today if status == "left" else None,
            })
            result.row_numbers.append(offset)
    if not result.rows and not result.problems:
        result.problems.append(Problem("no_rows"))
    return result


def flag_duplicates(parsed: Parsed) -> None:
    """Mark rows whose alias matches a member of the group or an earlier row of the file."""
    existing = {normalise_alias(a) for a in db.session.scalars(select(Member.alias))}
    seen: dict[str, int] = {}
    parsed.duplicates.clear()
    for row, number in zip(parsed.rows, parsed.row_numbers, strict=True):
        key = normalise_alias(row["alias"])
        if key in existing:
            parsed.duplicates.append(Duplicate(number, row["alias"], "existing"))
        elif key in seen:
            parsed.duplicates.append(Duplicate(number, row["alias"], "in_file", seen[key]))
        seen.setdefault(key, number)


def parse(data: bytes, filename: str = "") -> Parsed:
    """Read and check a whole file for the current group."""
    try:
        table = read_table(data, filename)
    except FileProblem as exc:
        return Parsed(problems=[exc.problem])
    parsed = check_rows(table)
    if parsed.ok:
        flag_duplicates(parsed)
    return parsed


def import_members(parsed: Parsed, *, skip_duplicates: bool) -> int:
    """Insert every good row in one statement batch; the caller commits (all or nothing)."""
    if not parsed.ok:
        raise ValueError("a file with problems is never imported")
    skip = {d.row for d in parsed.duplicates} if skip_duplicates else set()
    group_id = require_group_id()
    now = utcnow()
    rows = [
        {**row, "group_id": group_id, "created_at": now, "updated_at": now}
        for row, number in zip(parsed.rows, parsed.row_numbers, strict=True)
        if number not in skip
    ]
    if rows:
        db.session.execute(insert(Member), rows)
        db.session.flush()
    audit.record("member.imported", "member", None, rows=len(rows), skipped=len(skip))
    return len(rows)


# --- the file between preview and confirmation -------------------------------------------

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")


def _upload_dir() -> Path:
    folder = Path(current_app.config.get("IMPORT_DIR") or Path(current_app.instance_path) /
                  "imports")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _path(token: str, group_id: int, user_id: int) -> Path | None:
    if not _TOKEN_RE.match(token or ""):
        return None
    return _upload_dir() / f"{group_id}-{user_id}-{token}.bin"


def sweep_uploads(max_age: int = UPLOAD_TTL) -> int:
    """Delete uploads older than `max_age` seconds (abandoned previews)."""
    removed = 0
    cutoff = time.time() - max_age
    for path in _upload_dir().glob("*.bin"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    return removed


def store_upload(data: bytes, filename: str, *, group_id: int, user_id: int) -> str:
    """Keep an uploaded file, encrypted, for its confirmation; returns its token."""
    sweep_uploads()
    token = secrets.token_urlsafe(24)
    path = _path(token, group_id, user_id)
    assert path is not None
    suffix = b"xlsx" if filename.lower().endswith(".xlsx") else b"csv"
    blob = fernet().encrypt(suffix + b"\n" + data)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(fd, "wb") as fh:
        fh.write(blob)
    return token


def load_upload(token: str, *, group_id: int, user_id: int) -> tuple[bytes, str] | None:
    """The file behind a token of this group and user, if it has not expired."""
    path = _path(token, group_id, user_id)
    if path is None or not path.exists():
        return None
    if path.stat().st_mtime < time.time() - UPLOAD_TTL:
        path.unlink(missing_ok=True)
        return None
    try:
        raw = fernet().decrypt(path.read_bytes())
    except Exception:  # noqa: BLE001 - a damaged or foreign file is simply gone
        return None
    suffix, _, data = raw.partition(b"\n")
    return data, "upload." + suffix.decode()


def discard_upload(token: str, *, group_id: int, user_id: int) -> None:
    path = _path(token, group_id, user_id)
    if path is not None:
        path.unlink(missing_ok=True)
