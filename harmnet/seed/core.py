"""Demo departments, groups and logins."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Department, PeerGroup
from ..services import accounts, org

DEPARTMENTS = [("hn", "Sở LĐ-TB&XH Hà Nội", None), ("hn-bd", "Phòng LĐ-TB&XH Ba Đình", "hn")]
GROUPS = [
    ("hoa-sen", "CLB Hoa Sen", "club", "hn-bd", "Ba Đình"),
    ("song-hong", "Nhóm đồng đẳng Sông Hồng", "peer_group", "hn", "Hoàn Kiếm, Hai Bà Trưng"),
]
#: (login, display name, role, group slug or department code)
LOGINS = [
    ("coord-hoasen", "Chị Lan (điều phối)", "coordinator", "hoa-sen"),
    ("peer-hoasen", "Mai (đồng đẳng viên)", "peer_educator", "hoa-sen"),
    ("coord-songhong", "Chị Hà (điều phối)", "coordinator", "song-hong"),
    ("peer-songhong", "Thu (đồng đẳng viên)", "peer_educator", "song-hong"),
    ("dept-hn", "Cán bộ Sở Hà Nội", "viewer", "hn"),
]


def department(code: str) -> Department:
    found = db.session.scalar(select(Department).where(Department.code == code))
    assert found is not None
    return found


def group(slug: str) -> PeerGroup:
    found = db.session.scalar(select(PeerGroup).where(PeerGroup.slug == slug))
    assert found is not None
    return found


def seed(password: str) -> None:
    for code, name, parent in DEPARTMENTS:
        if db.session.scalar(select(Department).where(Department.code == code)) is None:
            org.create_department(code, name, parent)
    for slug, name, kind, dept, area in GROUPS:
        if db.session.scalar(select(PeerGroup).where(PeerGroup.slug == slug)) is None:
            org.create_group(slug, name, kind, dept, area)
    if accounts.find_user("admin") is None:
        accounts.create_user("admin", "Quản trị nền tảng", password, is_admin=True)
    for login, name, role, place in LOGINS:
        user = accounts.find_user(login)
        if user is None:
            user = accounts.create_user(login, name, password)
        else:
            accounts.set_password(user, password)
        if role in ("coordinator", "peer_educator"):
            org.grant_group_role(group(place), user, role)
        else:
            org.grant_department_role(department(place), user, role)
    db.session.flush()
