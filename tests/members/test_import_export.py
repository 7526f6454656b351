"""Import members from CSV/XLSX (preview, all or nothing, duplicates) and export them."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from harmnet.models import AuditEvent, Member
from tests.members.conftest import audit_actions
from tests.support import get_csrf, in_group, login

BASE = "/g/hoa-sen/members"
HEADER = ["Alias", "Role in group", "Status", "Joined on", "Gender", "Year of birth", "Phone",
          "Reminder consent", "Notes"]


def good_row(i: int) -> list[str]:
    roles = ["peer educator", "Tình nguyện viên", "club member", "CTV"]
    return [f"Bạn {i:04d}", roles[i % 4], "active", "2024-01-15", "nữ", "1990",
            f"09{i:08d}", "có" if i % 2 else "", ""]


def csv_bytes(rows: list[list[str]], header: list[str] = HEADER, sep: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def upload(client, data: bytes, name: str = "members.csv"):  # type: ignore[no-untyped-def]
    token = get_csrf(client, f"{BASE}/import")
    return client.post(f"{BASE}/import", data={"csrf_token": token,
                                                "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def confirm(client, page: str, skip_duplicates: bool = True):  # type: ignore[no-untyped-def]
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token and csrf, page[-3000:]
    data = {"csrf_token": csrf.group(1), "token": token.group(1)}
    if skip_duplicates:
        data["skip_duplicates"] = "y"
    return client.post(f"{BASE}/import/confirm", data=data)


def member_count(db, group) -> int:  # type: ignore[no-untyped-def]
    with in_group(group.id):
        return db.session.scalar(select(func.count()).select_from(Member))


def problem_rows(page: str) -> list[tuple[str, str, str]]:
    body = page.split('class="problems"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<tr><td class=\"num\">(\d*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>",
                       body)
    return cells


def test_500_rows_with_3_bad_rows_import_nothing_and_name_exactly_those_rows(
        client, coordinator, db, tmp_path):
    group, _ = coordinator
    rows = [good_row(i) for i in range(500)]
    rows[41][3] = "31/02/2024"          # spreadsheet row 43: no such date
    rows[199][6] = "call me"            # row 201: not a phone number
    rows[449][1] = "boss"               # row 451: unknown role
    response = upload(client, csv_bytes(rows))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page and "3 rows have problems" in page
    found = problem_rows(page)
    assert [(r, c) for r, c, _ in found] == [
        ("43", "Joined on (D)"), ("201", "Phone (G)"), ("451", "Role in group (B)")]
    assert "Not a date" in found[0][2] and "Not a phone number" in found[1][2]
    assert "Unknown role" in found[2][2]
    assert "Import now" not in page
    assert member_count(db, group) == 0
    assert not list((tmp_path / "imports").glob("*")) if (tmp_path / "imports").exists() else True


def test_problems_are_reported_in_vietnamese_for_a_vietnamese_user(client, make_group,
                                                                   login_as, db):
    group = make_group("hoa-sen")
    login_as("coordinator", group=group, locale="vi")
    response = upload(client, csv_bytes([["", "ddv", "", "", "", "", "", "", ""],
                                         ["Lan", "ddv", "", "", "", "", "", "", ""]]))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Không có thành viên nào được nhập" in page
    assert "Bí danh (A)" in page


def test_good_file_previews_then_imports_all_with_duplicates_flagged(client, coordinator, db,
                                                                     add_member, tmp_path):
    group, _ = coordinator
    add_member(group, "Bạn 0003")
    rows = [good_row(i) for i in range(10)] + [["bạn 0005", "", "", "", "", "", "", "", ""]]
    response = upload(client, csv_bytes(rows, sep=";"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[-2000:]
    assert "11 members can be imported." in page
    assert "A member with this alias already exists." in page  # Bạn 0003
    assert "Same alias as row 7." in page                      # bạn 0005 = row 7
    assert member_count(db, group) == 1  # a preview changes nothing
    # The file waits encrypted on the server; no personal data in it is readable.
    stored = list((tmp_path / "imports").glob("*.bin"))
    assert len(stored) == 1 and b"09000000" not in stored[0].read_bytes()
    done = confirm(client, page, skip_duplicates=True)
    assert done.status_code == 302
    assert member_count(db, group) == 1 + 9
    assert not list((tmp_path / "imports").glob("*.bin"))  # deleted after confirmation
    with in_group(group.id):
        m = db.session.scalar(select(Member).where(Member.alias == "Bạn 0001"))
        assert (m.role_in_group, m.gender, m.birth_year, m.phone, m.reminder_consent,
                m.joined_on) == ("volunteer", "F", 1990, "0900000001", True, date(2024, 1, 15))
    imported = [a for a in audit_actions(db) if a[0] == "member.imported"]
    assert imported == [("member.imported", None, {"rows": 9, "skipped": 2})]
    # The same token cannot be used twice.
    again = confirm(client, page)
    assert again.status_code == 302 and member_count(db, group) == 10


def test_confirm_with_duplicates_kept_imports_every_row(client, coordinator, db, add_member):
    group, _ = coordinator
    add_member(group, "Bạn 0000")
    page = upload(client, csv_bytes([good_row(0), good_row(1)])).get_data(as_text=True)
    confirm(client, page, skip_duplicates=False)
    assert member_count(db, group) == 3


def test_xlsx_import_with_vietnamese_headers_and_numeric_cells(client, coordinator, db):
    group, _ = coordinator
    wb = Workbook()
    ws = wb.active
    ws.append(["Bí danh", "Vai trò", "Ngày tham gia", "Năm sinh", "Số điện thoại", "Cột lạ"])
    ws.append(["Hương", "Đồng đẳng viên", date(2023, 5, 2), 1994, 912345678, "x"])
    ws.append(["Thảo", "Cộng tác viên", "02/05/2023", 1988.0, None, None])
    buffer = io.BytesIO()
    wb.save(buffer)
    response = upload(client, buffer.getvalue(), "ds.xlsx")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[-2000:]
    assert "Cột lạ" in page  # an unknown column is named, not silently dropped
    assert confirm(client, page).status_code == 302
    with in_group(group.id):
        members = {m.alias: m for m in db.session.scalars(select(Member))}
    assert members["Hương"].phone == "0912345678"
    assert members["Hương"].joined_on == date(2023, 5, 2)
    assert members["Thảo"].role_in_group == "collaborator"
    assert members["Thảo"].joined_on == date(2023, 5, 2) and members["Thảo"].birth_year == 1988


def test_bad_files_get_clear_messages_and_change_nothing(client, coordinator, db):
    group, _ = coordinator
    cases = [
        (b"", "members.csv", "The file is empty."),
        ("Bí danh\nHương\n".encode("cp1258"), "members.csv", "not in UTF-8"),
        (b"PK\x03\x04garbage", "members.xlsx", "could not be read as an Excel workbook"),
        (b"\xd0\xcf\x11\xe0rest", "old.xls", "Old Excel files"),
        (b"Name;Phone\n", "members.csv", "header row but no members"),
        (b"Phone,Notes\n0912345678,x\n", "members.csv", "No &#34;Alias&#34; column"),
        (b"\x00\x01\x02binary", "x.csv", "not a CSV or Excel file"),
    ]
    for data, name, message in cases:
        response = upload(client, data, name)
        page = response.get_data(as_text=True)
        assert response.status_code == 400, (name, message)
        assert message in page, (message, page[-2500:])
    assert member_count(db, group) == 0


def test_too_many_rows_and_too_large_files_are_refused(client, coordinator, db, app):
    group, _ = coordinator
    big = b"Alias\n" + b"".join(b"M%05d\n" % i for i in range(10_001))
    response = upload(client, big)
    assert response.status_code == 400 and "more than 10" in response.get_data(as_text=True)
    huge = b"Alias\n" + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = upload(client, huge)
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
    assert member_count(db, group) == 0


def test_expired_or_foreign_token_imports_nothing(client, coordinator, db):
    group, _ = coordinator
    csrf = get_csrf(client, f"{BASE}/import")
    response = client.post(f"{BASE}/import/confirm",
                           data={"csrf_token": csrf, "token": "A" * 32})
    assert response.status_code == 302
    assert "expired" in client.get(response.headers["Location"]).get_data(as_text=True)
    response = client.post(f"{BASE}/import/confirm",
                           data={"csrf_token": csrf, "token": "../../etc/passwd"})
    assert response.status_code == 302 and member_count(db, group) == 0


def test_export_csv_without_phones_by_default_and_audited(client, coordinator, db, add_member):
    group, _ = coordinator
    add_member(group, "=HYPERLINK(\"x\")", phone="0912345678")
    add_member(group, "Lan", phone="0987000111", status="left")
    csrf = get_csrf(client, f"{BASE}/export")
    response = client.post(f"{BASE}/export", data={"csrf_token": csrf, "format": "csv",
                                                   "status": ""})
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    body = response.get_data().decode("utf-8-sig")
    assert "0912345678" not in body and "0987000111" not in body
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "Alias" and "Phone" not in rows[0]
    assert rows[1][0] == "'=HYPERLINK(\"x\")"  # a formula is defused
    events = [a for a in audit_actions(db) if a[0] == "member.exported"]
    assert events == [("member.exported", None,
                       {"format": "csv", "rows": 2, "include_phone": False})]


def test_export_xlsx_with_phones_on_purpose_round_trips_through_import(client, coordinator, db,
                                                                       add_member, make_group,
                                                                       make_user, app):
    group, _ = coordinator
    add_member(group, "Hương", phone="0912345678", role_in_group="collaborator",
               gender="T", birth_year=1990, reminder_consent=True)
    csrf = get_csrf(client, f"{BASE}/export")
    response = client.post(f"{BASE}/export", data={"csrf_token": csrf, "format": "xlsx",
                                                   "status": "active", "include_phone": "y"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[1][0] == "Hương" and "0912345678" in values[1]
    with in_group(group.id):
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "member.exported"))
        assert event.detail == {"format": "xlsx", "rows": 1, "include_phone": True}
    # The export is a valid import file for another group.
    other = make_group("song-hong")
    client = app.test_client()
    login(client, make_user(group=other, role="coordinator").login)
    token = get_csrf(client, "/g/song-hong/members/import")
    preview = client.post("/g/song-hong/members/import",
                          data={"csrf_token": token,
                                "file": (io.BytesIO(response.get_data()), "x.xlsx")},
                          content_type="multipart/form-data")
    assert preview.status_code == 200, preview.get_data(as_text=True)[-2000:]
    page = preview.get_data(as_text=True)
    csrf2 = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    tok = re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/g/song-hong/members/import/confirm", data={"csrf_token": csrf2, "token": tok})
    with in_group(other.id):
        m = db.session.scalar(select(Member))
        assert (m.alias, m.role_in_group, m.gender, m.birth_year, m.phone,
                m.reminder_consent) == ("Hương", "collaborator", "T", 1990, "0912345678", True)


def test_template_download(client, coordinator):
    response = client.get(f"{BASE}/import/template.csv")
    assert response.status_code == 200
    assert response.get_data().decode("utf-8-sig").startswith("Alias,Role in group,Status")
