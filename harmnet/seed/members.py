"""Demo members, trainings over several months and their roll calls, for both demo groups."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from .. import tenancy
from ..extensions import db
from ..models import Attendance, GroupMembership, Member, PeerGroup, Training
from ..services import accounts
from ..services.trainings import local_to_utc

ALIASES = [
    "Mai", "Lan", "Hương", "Thảo", "Ngọc", "Hồng", "Trang", "Linh", "Hạnh", "Yến", "Phương",
    "Vân", "Cúc", "Đào", "Nhung", "Bích", "Thu", "Hà", "My", "Diệp", "Quỳnh", "Tuyết", "Loan",
    "Oanh", "Nga", "Hằng", "Duyên", "Kiều", "Xuân", "Nhi", "Huyền", "Thơ",
]
#: Aliases with a descriptor, as groups write them when two people share a name.
SUFFIXES = ["Mai Long Biên", "Lan nhỏ", "Hương Hải Phòng", "Thảo Béo"]

#: Per group: (slug, how many members, role weights, linked logins -> alias)
PLANS = {
    "hoa-sen": {
        "roles": [("club_member", 6), ("peer_educator", 3), ("volunteer", 1)],
        "count": 30,
        "logins": {"coord-hoasen": "Lan", "peer-hoasen": "Mai"},
        "seed": 11,
    },
    "song-hong": {
        "roles": [("peer_educator", 5), ("volunteer", 2), ("collaborator", 3)],
        "count": 26,
        "logins": {"coord-songhong": "Hà", "peer-songhong": "Thu"},
        "seed": 29,
    },
}

TRAININGS = [
    ("harm_reduction", "Giảm hại cơ bản cho đồng đẳng viên mới", "Nhà văn hoá phường",
     "Chị Lan"),
    ("hiv_sti_prevention", "Dự phòng HIV và các bệnh lây qua đường tình dục",
     "Trạm y tế phường", "BS. Nguyễn Thị Hạnh"),
    ("pep_prep", "PEP và PrEP: khi nào, ở đâu, như thế nào", "Phòng khám ngoại trú",
     "BS. Trần Minh"),
    ("gbv_prevention", "Nhận biết và ứng phó bạo lực giới", "Văn phòng nhóm",
     "Cán bộ Hội Phụ nữ"),
    ("legal_labour_rights", "Quyền pháp lý và quyền lao động", "Văn phòng nhóm",
     "Luật sư tình nguyện"),
    ("outreach_communication", "Kỹ năng tiếp cận và truyền thông nhóm nhỏ", "Quán cà phê đối tác",
     "Chị Hà"),
    ("counselling_skills", "Kỹ năng tư vấn qua Zalo và Messenger", "Văn phòng nhóm",
     "Chuyên gia tâm lý"),
    ("first_aid", "Sơ cứu cơ bản", "Trạm y tế phường", "Hội Chữ thập đỏ"),
    ("vocational", "Giới thiệu học nghề và vay vốn", "Trung tâm dịch vụ việc làm",
     "Cán bộ Phòng LĐ-TB&XH"),
]


def _phone(rng: random.Random) -> str:
    # Fictional numbers in a mobile prefix range; never a real person's.
    return "09" + "".join(str(rng.randrange(10)) for _ in range(8))


def _seed_group(group: PeerGroup, plan: dict) -> None:
    rng = random.Random(plan["seed"])
    today = date.today()
    roles = [r for r, w in plan["roles"] for _ in range(w)]
    aliases = ALIASES[: plan["count"] - len(SUFFIXES)] + SUFFIXES
    members: list[Member] = []
    for i, alias in enumerate(aliases):
        joined = today - timedelta(days=rng.randrange(60, 900))
        status = "active"
        if i % 11 == 5:
            status = "paused"
        elif i % 13 == 7:
            status = "left"
        has_phone = rng.random() < 0.6
        member = Member(
            group_id=group.id, alias=alias, role_in_group=roles[i % len(roles)], status=status,
            joined_on=joined, gender="T" if i % 9 == 4 else "F",
            birth_year=rng.randrange(1978, 2003), phone=_phone(rng) if has_phone else None,
            reminder_consent=has_phone and rng.random() < 0.7,
            paused_on=today - timedelta(days=20) if status == "paused" else None,
            left_on=today - timedelta(days=45) if status == "left" else None,
            notes="",
        )
        if alias in plan["logins"].values():
            member.role_in_group = "peer_educator"
            member.status = "active"
            member.paused_on = member.left_on = None
        members.append(member)
    db.session.add_all(members)
    db.session.flush()

    by_alias = {m.alias: m for m in members}
    for login, alias in plan["logins"].items():
        user = accounts.find_user(login)
        if user is None:
            continue
        membership = db.session.scalar(
            select(GroupMembership).where(GroupMembership.user_id == user.id)
        )
        if membership is not None and membership.member_id is None:
            membership.member_id = by_alias[alias].id

    # About two trainings a month over six months, and three to come.
    now = datetime.now(UTC)
    starts = []
    for months_back in range(6, 0, -1):
        for day in (rng.randrange(3, 13), rng.randrange(15, 27)):
            first = (today.replace(day=1) - timedelta(days=30 * months_back)).replace(day=1)
            starts.append(first.replace(day=day))
    starts += [today + timedelta(days=d) for d in (4, 12, 25)]
    for n, day in enumerate(starts):
        topic, title, place, facilitator = TRAININGS[n % len(TRAININGS)]
        at = time(8, 30) if n % 2 else time(14, 0)
        starts_at = local_to_utc(day, at, group.timezone)
        training = Training(
            group_id=group.id, title=title, topic=topic, starts_at=starts_at,
            duration_minutes=rng.choice([90, 120, 180, 240]), location=place,
            facilitator=facilitator, capacity=rng.choice([None, 20, 25, 30]),
            status="planned",
        )
        db.session.add(training)
        db.session.flush()
        eligible = [m for m in members if m.joined_on and m.joined_on <= day
                    and not (m.left_on and m.left_on <= day)]
        invited = rng.sample(eligible, min(len(eligible), rng.randrange(8, 16)))
        past = starts_at < now
        if past:
            training.status = "cancelled" if n == 5 else "held"
        for member in invited:
            status = "invited"
            if training.status == "held":
                status = rng.choices(["attended", "absent", "excused"], [78, 12, 10])[0]
            db.session.add(Attendance(group_id=group.id, training_id=training.id,
                                      member_id=member.id, status=status))
    db.session.flush()


def seed(password: str) -> None:
    for slug, plan in PLANS.items():
        group = db.session.scalar(select(PeerGroup).where(PeerGroup.slug == slug))
        if group is None:
            continue
        with tenancy.group_context(group.id):
            if db.session.scalar(select(func.count()).select_from(Member)):
                continue  # already seeded: running seed-demo twice adds nothing
            _seed_group(group, plan)
