"""Translated names of member, training and attendance codes (one place for every screen)."""

from __future__ import annotations

from ..i18n import lazy_gettext as _l

MEMBER_ROLE_NAMES = {
    "peer_educator": _l("Peer educator"),
    "volunteer": _l("Volunteer"),
    "club_member": _l("Club member"),
    "collaborator": _l("Community collaborator"),
}
MEMBER_STATUS_NAMES = {
    "active": _l("Active"),
    "paused": _l("Paused"),
    "left": _l("Left"),
}
GENDER_NAMES = {
    "F": _l("Female"),
    "M": _l("Male"),
    "T": _l("Transgender"),
    "X": _l("Not said"),
}
TOPIC_NAMES = {
    "harm_reduction": _l("Harm reduction"),
    "hiv_sti_prevention": _l("HIV and STI prevention"),
    "pep_prep": _l("PEP and PrEP"),
    "gbv_prevention": _l("Gender-based-violence prevention"),
    "legal_labour_rights": _l("Legal and labour rights"),
    "outreach_communication": _l("Outreach and communication skills"),
    "counselling_skills": _l("Counselling skills"),
    "first_aid": _l("First aid"),
    "vocational": _l("Vocational training"),
}
TRAINING_STATUS_NAMES = {
    "planned": _l("Planned"),
    "held": _l("Held"),
    "cancelled": _l("Cancelled"),
}
ATTENDANCE_NAMES = {
    "invited": _l("Invited"),
    "attended": _l("Attended"),
    "absent": _l("Absent"),
    "excused": _l("Excused"),
}


def name_of(table: dict, code: str | None) -> str:
    if code is None:
        return ""
    return str(table.get(code, code))

#: Column headers of the import template and the export, in the user's language.
COLUMN_NAMES = {
    "alias": _l("Alias"),
    "role_in_group": _l("Role in group"),
    "status": _l("Status"),
    "joined_on": _l("Joined on"),
    "paused_on": _l("Paused on"),
    "left_on": _l("Left on"),
    "gender": _l("Gender"),
    "birth_year": _l("Year of birth"),
    "phone": _l("Phone"),
    "reminder_consent": _l("Reminder consent"),
    "notes": _l("Notes"),
}

#: Why an import file or row cannot be imported; params fill the placeholders in order.
IMPORT_PROBLEMS = {
    "empty_file": _l("The file is empty."),
    "no_rows": _l("The file has a header row but no members."),
    "not_utf8": _l("The file is not in UTF-8. In Excel, save it as \"CSV UTF-8\" or as .xlsx."),
    "unreadable_csv": _l("The file could not be read as a CSV table."),
    "unreadable_xlsx": _l("The file could not be read as an Excel workbook (.xlsx)."),
    "zip_bomb": _l("This file unpacks to far more data than a member list can hold, so it "
                   "was not opened. Save the list again as .xlsx or CSV."),
    "old_excel": _l("Old Excel files (.xls) are not supported. Save the file as .xlsx."),
    "not_a_table": _l("This is not a CSV or Excel file."),
    "too_many_rows": _l("The file has more than %(n)s rows. Split it into smaller files."),
    "no_alias_column": _l("No \"Alias\" column was found in the first row."),
    "duplicate_column": _l("This column appears twice."),
    "required": _l("This cell must not be empty."),
    "too_long": _l("Too long: at most %(n)s characters."),
    "angle_brackets": _l("Please do not use < or > here."),
    "unknown_role": _l("Unknown role. Use: peer educator, volunteer, club member or "
                       "community collaborator."),
    "unknown_status": _l("Unknown status. Use: active, paused or left."),
    "bad_date": _l("Not a date. Write it as 2024-05-31 or 31/05/2024."),
    "date_out_of_range": _l("The date must be from %(n)s to %(m)s."),
    "unknown_gender": _l("Unknown gender. Use: female, male, transgender or not said."),
    "not_a_year": _l("Not a year. Write four digits, for example 1995."),
    "year_out_of_range": _l("The year must be from %(n)s to %(m)s."),
    "bad_phone": _l("Not a phone number (8 to 15 digits)."),
    "not_yes_no": _l("Write yes or no."),
    "consent_without_phone": _l("Reminders need a phone number in the same row."),
}


def import_problem_text(code: str, params: tuple) -> str:
    names = ("n", "m")
    values = dict(zip(names, params, strict=False))
    message = IMPORT_PROBLEMS.get(code)
    if message is None:
        return code
    return str(message) % values if values else str(message)
