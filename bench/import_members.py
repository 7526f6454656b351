"""Bench: import a good 5,000-row CSV through the preview and confirm pages, on PostgreSQL.

Usage: .venv/bin/python bench/import_members.py [--rows 5000] [--url postgresql://...]
The database named by --url is dropped and recreated. The app connects as harmnet_app
(not the owner), so row-level security is on, as in production. Target: under 10 s.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_URL, fresh_database, make_app, sign_in  # noqa: E402

PASSWORD = "bench password 2024"


def build_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Bí danh", "Vai trò", "Trạng thái", "Ngày tham gia", "Giới tính",
                     "Năm sinh", "Điện thoại", "Đồng ý nhắc", "Ghi chú"])
    roles = ["đồng đẳng viên", "tình nguyện viên", "thành viên CLB", "cộng tác viên"]
    for i in range(rows):
        writer.writerow([f"Thành viên {i:05d}", roles[i % 4], "đang hoạt động",
                         f"{1 + i % 28:02d}/{1 + i % 12:02d}/2023", "nữ", str(1975 + i % 30),
                         f"09{i:08d}" if i % 3 else "", "có" if i % 3 == 1 else "",
                         "Gặp ở điểm A" if i % 10 == 0 else ""])
    return out.getvalue().encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--url", default=DEFAULT_URL)
    args = parser.parse_args()

    _, app_url = fresh_database(args.url)
    app = make_app(app_url, IMPORT_DIR=tempfile.mkdtemp(prefix="harmnet-import-"))
    with app.app_context():
        from harmnet.extensions import db
        from harmnet.services import accounts, org

        org.create_department("bench", "Bench department")
        group = org.create_group("bench-group", "Bench group", "peer_group", "bench")
        user = accounts.create_user("bench-coord", "Bench", PASSWORD)
        org.grant_group_role(group, user, "coordinator")
        db.session.commit()

    data = build_csv(args.rows)
    client = app.test_client()
    sign_in(client, "bench-coord", PASSWORD)
    started = time.perf_counter()
    preview = client.post("/g/bench-group/members/import",
                          data={"file": (io.BytesIO(data), "members.csv")},
                          content_type="multipart/form-data")
    previewed = time.perf_counter()
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200, page[-2000:]
    token = page.split('name="token" type="hidden" value="', 1)[1].split('"', 1)[0]
    done = client.post("/g/bench-group/members/import/confirm", data={"token": token})
    finished = time.perf_counter()
    assert done.status_code == 302, done.status_code

    with app.app_context():
        from sqlalchemy import func, select

        from harmnet.extensions import db
        from harmnet.models import Member, PeerGroup
        from harmnet.tenancy import group_context

        gid = db.session.scalar(select(PeerGroup.id).where(PeerGroup.slug == "bench-group"))
        with group_context(gid):
            count = db.session.scalar(select(func.count()).select_from(Member))
    assert count == args.rows, count
    print(f"rows={args.rows} file={len(data) / 1024:.0f} KiB")
    print(f"preview (upload, parse, check, duplicates): {previewed - started:.2f} s")
    print(f"confirm (re-check, insert, commit):         {finished - previewed:.2f} s")
    print(f"import total: {finished - started:.2f} s (target < 10 s)")


if __name__ == "__main__":
    main()
