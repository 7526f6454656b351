"""The import's cell rules, without HTTP: what the export writes, the import reads back."""

from __future__ import annotations

from datetime import date

from flask_babel import force_locale

from harmnet.members.labels import (
    COLUMN_NAMES,
    GENDER_NAMES,
    MEMBER_ROLE_NAMES,
    MEMBER_STATUS_NAMES,
)
from harmnet.services.member_import import check_rows


def test_every_label_in_both_languages_reads_back(app):
    for locale in ("vi", "en"):
        with app.test_request_context(), force_locale(locale):
            header = [str(COLUMN_NAMES[c]) for c in ("alias", "role_in_group", "status",
                                                      "gender", "reminder_consent", "phone")]
            rows = [header]
            expected = []
            statuses, genders = list(MEMBER_STATUS_NAMES), list(GENDER_NAMES)
            for i, role in enumerate(MEMBER_ROLE_NAMES):
                status, gender = statuses[i % len(statuses)], genders[i]
                rows.append([f"A{i}", str(MEMBER_ROLE_NAMES[role]),
                             str(MEMBER_STATUS_NAMES[status]), str(GENDER_NAMES[gender]),
                             "Có" if locale == "vi" else "Yes", "0912345678"])
                expected.append((role, status, gender, True))
            parsed = check_rows(rows, today=date(2025, 1, 1))
            assert parsed.problems == [], (locale, parsed.problems)
            assert [(r["role_in_group"], r["status"], r["gender"], r["reminder_consent"])
                    for r in parsed.rows] == expected


def test_cell_rules():
    header = ["alias", "joined on", "year of birth", "phone", "reminder consent"]
    rows = [
        header,
        ["Hoa", "31/12/2024", "1990", "+84 912 345 678", "yes"],
        ["", "", "", "", ""],                                  # blank line: skipped
        ["x" * 81, "2024-13-01", "19x0", "12", "maybe"],
        ["Lan", "1989-12-31", "2020", "", "yes"],
        ["<b>", "", "", "", ""],
    ]
    parsed = check_rows(rows, today=date(2025, 1, 1))
    assert parsed.rows[0]["phone"] == "+84912345678"
    assert parsed.rows[0]["joined_on"] == date(2024, 12, 31)
    codes = [(p.row, p.column, p.code) for p in parsed.problems]
    assert codes == [
        (4, "alias", "too_long"), (4, "joined_on", "bad_date"), (4, "birth_year", "not_a_year"),
        (4, "phone", "bad_phone"), (4, "reminder_consent", "not_yes_no"),
        (5, "joined_on", "date_out_of_range"), (5, "birth_year", "year_out_of_range"),
        (5, "reminder_consent", "consent_without_phone"),
        (6, "alias", "angle_brackets"),
    ]
    assert parsed.bad_rows == [4, 5, 6]
