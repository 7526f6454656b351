"""Translated names of the contact area's codes (services, channels, statuses, ...)."""

from __future__ import annotations

from ..i18n import lazy_gettext as _l

SERVICE_NAMES = {
    "hiv_test": _l("HIV testing"),
    "pep": _l("PEP (after exposure)"),
    "prep": _l("PrEP (before exposure)"),
    "hiv_treatment": _l("HIV treatment"),
    "hepatitis_test": _l("Hepatitis B/C testing"),
    "tb_screening": _l("TB screening"),
    "sti_care": _l("STI care"),
    "health_care": _l("Health care"),
    "legal_aid": _l("Legal aid"),
    "psych_counselling": _l("Psychological counselling"),
    "gbv_support": _l("Gender-based violence support"),
    "vocational_training": _l("Vocational training"),
    "jobs": _l("Jobs"),
    "loans": _l("Loans"),
    "social_protection": _l("Social protection"),
}

CHANNEL_NAMES = {
    "in_person": _l("In person"),
    "group_session": _l("Small-group session"),
    "zalo": _l("Zalo"),
    "messenger": _l("Messenger"),
    "phone": _l("Phone"),
    "other": _l("Other"),
}

TOPIC_NAMES = {
    "safer_sex": _l("Safer sex"),
    "hiv_sti": _l("HIV and STIs"),
    "pep_prep": _l("PEP and PrEP"),
    "drug_use": _l("Drug use"),
    "gbv": _l("Gender-based violence"),
    "legal_rights": _l("Legal rights"),
    "mental_health": _l("Mental health"),
    "other": _l("Other topic"),
}

ITEM_NAMES = {
    "condoms": _l("Condoms"),
    "lubricants": _l("Lubricants"),
    "leaflets": _l("Leaflets"),
    "self_test_kits": _l("HIV self-test kits"),
}

SEX_NAMES = {"F": _l("Female"), "M": _l("Male"), "T": _l("Transgender")}

AGE_BAND_NAMES = {
    "<18": _l("Under 18"),
    "18-24": _l("18 to 24"),
    "25-34": _l("25 to 34"),
    "35-49": _l("35 to 49"),
    "50+": _l("50 and over"),
}

REFERRAL_STATUS_NAMES = {
    "referred": _l("Referred"),
    "booked": _l("Booked"),
    "completed": _l("Completed"),
    "declined": _l("Declined"),
    "lost": _l("Lost to follow-up"),
}

APPOINTMENT_STATUS_NAMES = {
    "scheduled": _l("Scheduled"),
    "attended": _l("Attended"),
    "missed": _l("Missed"),
    "cancelled": _l("Cancelled"),
}

REMINDER_CHANNEL_NAMES = {
    "sms": _l("SMS"),
    "email": _l("E-mail"),
    "outbox": _l("Outbox (the coordinator passes it on)"),
}

DELETE_REASON_NAMES = {
    "duplicate": _l("Recorded twice"),
    "mistake": _l("Entered by mistake"),
    "client_request": _l("The client asked"),
    "other": _l("Other reason"),
}

TESTED_NAMES = {"yes": _l("Yes, tested"), "no": _l("No, not tested")}

TEST_NAMES = {"hiv": _l("HIV"), "hepatitis": _l("Hepatitis B/C"), "sti": _l("STI")}

RESULT_NAMES = {
    "non_reactive": _l("Non-reactive"),
    "reactive": _l("Reactive"),
    "indeterminate": _l("Indeterminate"),
    "not_disclosed": _l("Not disclosed by the client"),
}

CONFIRMATION_NAMES = {
    "non_reactive": _l("Non-reactive"),
    "reactive": _l("Reactive (confirmed)"),
    "indeterminate": _l("Indeterminate"),
}

LINKAGE_NAMES = {"treatment": _l("HIV treatment"), "prep": _l("PrEP")}

LINKAGE_STATUS_NAMES = {
    "open": _l("Still following up"),
    "linked": _l("Started"),
    "not_linked": _l("Did not start (close)"),
}

ALL = {
    "service_name": SERVICE_NAMES,
    "channel_name": CHANNEL_NAMES,
    "topic_name": TOPIC_NAMES,
    "item_name": ITEM_NAMES,
    "sex_name": SEX_NAMES,
    "age_band_name": AGE_BAND_NAMES,
    "referral_status_name": REFERRAL_STATUS_NAMES,
    "appointment_status_name": APPOINTMENT_STATUS_NAMES,
    "reminder_channel_name": REMINDER_CHANNEL_NAMES,
    "delete_reason_name": DELETE_REASON_NAMES,
    "test_name": TEST_NAMES,
    "result_name": RESULT_NAMES,
    "confirmation_name": CONFIRMATION_NAMES,
    "linkage_name": LINKAGE_NAMES,
    "linkage_status_name": LINKAGE_STATUS_NAMES,
}


def choices(names: dict, blank: object | None = None) -> list[tuple[str, object]]:
    items = list(names.items())
    return [("", blank), *items] if blank is not None else items
