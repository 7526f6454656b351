"""Demo providers, contacts, referrals (every state) and past and future appointments."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from .. import clientcode, tenancy
from ..extensions import db
from ..models import Appointment, Client, Contact, Provider, Referral
from ..models._types import utcnow
from ..services import accounts
from .core import group

MONTHS = 6
#: (name, services, address, opening hours, phone) per group; the numbers are fictional.
PROVIDERS = {
    "hoa-sen": [
        ("Phòng khám ngoại trú HIV Ba Đình", ["hiv_test", "hiv_treatment", "pep", "prep"],
         "Phố Đội Cấn, Ba Đình", "Thứ 2–Thứ 6, 7:30–16:30", "024 3700 0101"),
        ("Trung tâm Kiểm soát bệnh tật Hà Nội", ["hiv_test", "hepatitis_test", "tb_screening",
                                                 "prep"],
         "Phố Thái Thịnh, Đống Đa", "Thứ 2–Thứ 7, 7:30–17:00", "024 3700 0102"),
        ("Phòng khám Da liễu (thân thiện)", ["sti_care", "health_care"],
         "Phố Kim Mã, Ba Đình", "Hằng ngày, 8:00–20:00", "024 3700 0103"),
        ("Trung tâm Trợ giúp pháp lý Nhà nước", ["legal_aid", "gbv_support"],
         "Phố Hàng Bài, Hoàn Kiếm", "Thứ 2–Thứ 6, 8:00–17:00", "024 3700 0104"),
        ("Trung tâm Công tác xã hội", ["psych_counselling", "gbv_support",
                                        "social_protection"],
         "Phố Liễu Giai, Ba Đình", "Thứ 2–Thứ 6, 8:00–17:00", "024 3700 0105"),
        ("Trường trung cấp nghề (lớp ngắn hạn)", ["vocational_training", "jobs"],
         "Phố Nguyễn Thái Học, Ba Đình", "Thứ 2–Thứ 7, 7:30–17:00", "024 3700 0106"),
    ],
    "song-hong": [
        ("Phòng khám ngoại trú HIV Hai Bà Trưng", ["hiv_test", "hiv_treatment", "pep", "prep"],
         "Phố Lò Đúc, Hai Bà Trưng", "Thứ 2–Thứ 6, 7:30–16:30", "024 3700 0201"),
        ("Trạm y tế phường (xét nghiệm lưu động)", ["hiv_test", "hepatitis_test",
                                                     "tb_screening", "health_care"],
         "Phường Phúc Tân, Hoàn Kiếm", "Thứ 3 và Thứ 5, 18:00–21:00", "024 3700 0202"),
        ("Bệnh viện Da liễu Hà Nội", ["sti_care"],
         "Phố Hàng Bún, Ba Đình", "Hằng ngày, 7:00–19:00", "024 3700 0203"),
        ("Văn phòng luật sư tình nguyện", ["legal_aid"],
         "Phố Bà Triệu, Hai Bà Trưng", "Thứ 7, 8:00–12:00", "024 3700 0204"),
        ("Ngân hàng Chính sách xã hội (tổ tiết kiệm)", ["loans", "social_protection"],
         "Phố Lê Thánh Tông, Hoàn Kiếm", "Thứ 2–Thứ 6, 8:00–16:00", "024 3700 0205"),
        ("Nhà tạm lánh (hỗ trợ bạo lực giới)", ["gbv_support", "psych_counselling"],
         "Địa chỉ cung cấp qua điện thoại", "Hằng ngày, 24 giờ", "024 3700 0206"),
    ],
}
MOTHERS = ["Hương", "Lan", "Mai", "Hoa", "Thu", "Hằng", "Nga", "Yến", "Loan", "Tuyết", "Vân",
           "Xuân", "Đào", "Bích", "Ngọc", "Phượng", "Thảo", "Liên", "Hạnh", "Nhung"]
FATHERS = ["Đức", "Minh", "Hùng", "Dũng", "Tuấn", "Nam", "Quang", "Bình", "Sơn", "Thắng",
           "Cường", "Hải", "Long", "Phúc", "Tiến", "Vinh", "Khánh", "Toàn", "Hoà", "Lực"]
CHANNEL_WEIGHTS = [("in_person", 40), ("zalo", 25), ("messenger", 10), ("phone", 10),
                   ("group_session", 10), ("other", 5)]
SERVICE_WEIGHTS = [("hiv_test", 30), ("hepatitis_test", 12), ("tb_screening", 8),
                   ("pep", 5), ("prep", 8), ("sti_care", 10), ("health_care", 5),
                   ("legal_aid", 6), ("gbv_support", 4), ("psych_counselling", 4),
                   ("vocational_training", 3), ("loans", 2), ("social_protection", 2),
                   ("hiv_treatment", 1), ("jobs", 2)]


def _pick(rng: random.Random, weights: list[tuple[str, int]]) -> str:
    return rng.choices([w[0] for w in weights], weights=[w[1] for w in weights])[0]


def _age_band(rng: random.Random) -> tuple[str, int]:
    band = rng.choices(["18-24", "25-34", "35-49", "50+", "<18"], [30, 40, 22, 6, 2])[0]
    age = {"<18": 17, "18-24": 21, "25-34": 29, "35-49": 41, "50+": 53}[band]
    return band, age


def _seed_group(slug: str, logins: list[str]) -> None:
    grp = group(slug)
    with tenancy.group_context(grp.id):
        if db.session.scalar(select(func.count()).select_from(Contact)):
            return  # already seeded: idempotent
        rng = random.Random(f"harmnet-demo-{slug}")
        tz = ZoneInfo(grp.timezone)
        now = utcnow()
        today = datetime.now(tz).date()
        retention = timedelta(days=int(grp.setting("retention_days")))
        authors = [u.id for u in (accounts.find_user(login) for login in logins) if u]

        providers = []
        for name, services, address, hours, phone in PROVIDERS[slug]:
            provider = Provider(group_id=grp.id, name=name, services=services,
                                address=address, opening_hours=hours, phone=phone)
            db.session.add(provider)
            providers.append(provider)
        db.session.flush()

        # A pool of clients; some come back several times over the months.
        people = []
        for _ in range(90):
            band, age = _age_band(rng)
            sex = rng.choices("FTM", [80, 15, 5])[0]
            year = "" if rng.random() < 0.08 else str(today.year - age)
            code = clientcode.normalise(rng.choice(MOTHERS), rng.choice(FATHERS), sex, year)
            people.append((code, sex, band))
        clients: dict[str, Client] = {}

        start = today - timedelta(days=30 * MONTHS)
        day = start
        n = 0
        while day <= today:
            for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
                n += 1
                channel = _pick(rng, CHANNEL_WEIGHTS)
                client = None
                participants = None
                if channel == "group_session":
                    participants = rng.randint(5, 25)
                else:
                    # Returning clients are more likely as the months go by.
                    code, sex, band = rng.choice(people[: 30 + (day - start).days // 3])
                    pseudonym = clientcode.pseudonym(grp.id, code)
                    client = clients.get(pseudonym)
                    if client is None:
                        client = Client(group_id=grp.id, pseudonym=pseudonym,
                                        first_contact_on=day, sex=sex, age_band=band)
                        db.session.add(client)
                        db.session.flush()
                        clients[pseudonym] = client
                contact = Contact(
                    group_id=grp.id, occurred_on=day, channel=channel,
                    client_id=client.id if client else None,
                    participants_count=participants, peer_educator_id=rng.choice(authors),
                    counselling_topics=rng.sample(
                        ["safer_sex", "hiv_sti", "pep_prep", "gbv", "legal_rights",
                         "mental_health", "drug_use"], rng.choice([0, 1, 1, 2])),
                    condoms=rng.choice([0, 5, 10, 10, 20, 50 if participants else 10]),
                    lubricants=rng.choice([0, 0, 2, 5]),
                    leaflets=rng.choice([0, 1, 2, participants or 1]),
                    self_test_kits=rng.choice([0, 0, 0, 1]),
                    idempotency_key=f"seed-{slug}-{n}",
                    created_at=datetime.combine(day, time(10), tzinfo=UTC),
                )
                db.session.add(contact)
                db.session.flush()
                if client is not None and rng.random() < 0.45:
                    _referral(rng, grp.id, contact, client, providers, day, today, now, tz,
                              retention)
            day += timedelta(days=1)
        db.session.flush()


def _referral(rng: random.Random, group_id: int, contact: Contact, client: Client,
              providers: list[Provider], day: date, today: date, now: datetime,
              tz: ZoneInfo, retention: timedelta) -> None:
    service = _pick(rng, SERVICE_WEIGHTS)
    offering = [p for p in providers if service in p.services] or [None]
    provider = rng.choice(offering)
    age = (today - day).days
    # Old referrals have settled; recent ones are still open.
    if age > 30:
        status = rng.choices(["completed", "declined", "lost", "booked", "referred"],
                             [55, 10, 15, 5, 15])[0]
    else:
        status = rng.choices(["referred", "booked", "completed", "declined"],
                             [40, 35, 20, 5])[0]
    completed_on = None
    if status == "completed":
        completed_on = min(today, day + timedelta(days=rng.randint(0, 10)))
    referral = Referral(group_id=group_id, contact_id=contact.id, client_id=client.id,
                        service=service, provider_id=provider.id if provider else None,
                        status=status, referred_on=day, completed_on=completed_on)
    db.session.add(referral)
    db.session.flush()
    if status not in ("booked", "completed") and rng.random() < 0.8:
        return
    when_day = day + timedelta(days=rng.randint(1, 10))
    at = datetime.combine(when_day, time(rng.choice([8, 9, 10, 14, 15, 16])),
                          tzinfo=tz).astimezone(UTC)
    if status == "completed":
        appt_status = "attended"
    elif at > now:
        appt_status = "scheduled"
    elif status == "booked":
        appt_status = rng.choice(["missed", "scheduled"])  # "scheduled": not marked yet
    else:
        appt_status = rng.choice(["missed", "cancelled"])
    if status == "booked" and at <= now and rng.random() < 0.5:
        # Move some open bookings into the coming days, so the follow-ups list has them.
        at = now + timedelta(days=rng.randint(0, 12), hours=rng.randint(1, 8))
        appt_status = "scheduled"
    if appt_status == "scheduled" and referral.status == "referred":
        referral.status = "booked"
    consent = rng.random() < 0.6
    purge_after = at + retention
    keep_value = consent and purge_after > now and appt_status == "scheduled"
    db.session.add(Appointment(
        group_id=group_id, referral_id=referral.id,
        provider_id=provider.id if provider else None, scheduled_at=at, status=appt_status,
        reminder_consent=consent, channel=rng.choice(["sms", "outbox"]) if consent else None,
        contact_value=f"09{rng.randint(10, 99)} {rng.randint(100, 999)} "
                      f"{rng.randint(100, 999)}" if keep_value else None,
        purge_after=purge_after,
    ))


def seed(password: str) -> None:
    _seed_group("hoa-sen", ["peer-hoasen", "coord-hoasen"])
    _seed_group("song-hong", ["peer-songhong", "coord-songhong"])
