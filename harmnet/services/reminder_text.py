"""Reminder texts: discreet default templates, the sensitive-words list, and rendering."""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

#: Placeholders a template may use. {group} is the group's name: only if the group wants it.
PLACEHOLDERS = ("time", "place", "group")
REQUIRED_PLACEHOLDERS = ("time",)
MAX_TEMPLATE_LENGTH = 300
KINDS = ("appointment", "training")
LANGUAGES = ("vi", "en")

#: Discreet by design: no service, no clinic, no group name, nothing a shared phone's
#: other reader could connect to sex work, HIV or drugs.
DEFAULT_TEMPLATES: dict[str, dict[str, str]] = {
    "appointment": {
        "vi": "Chào bạn, nhắc bạn lịch hẹn lúc {time}, tại {place}.",
        "en": "Hello, a reminder of your appointment at {time}, {place}.",
    },
    "training": {
        "vi": "Chào bạn, nhắc bạn buổi gặp lúc {time}, tại {place}.",
        "en": "Hello, a reminder of our meeting at {time}, {place}.",
    },
}

#: What {place} says when the place is unknown or its name would give too much away.
NEUTRAL_PLACE = {"vi": "nơi đã hẹn", "en": "the agreed place"}

#: {time} in the recipient's language, in the group's timezone.
TIME_PATTERNS = {"vi": "HH:mm 'ngày' dd/MM", "en": "HH:mm 'on' d MMM"}

#: Words a reminder must never carry (matched as whole words, case-insensitively). Entries
#: marked with a trailing "*" are also matched without diacritics, as SMS are often typed;
#: short Vietnamese words are not, because without accents they collide with everyday
#: words ("lậu" would become "lau", "lâu").
SENSITIVE_WORDS: dict[str, tuple[str, ...]] = {
    "en": (
        "hiv", "aids", "prep", "pep", "arv", "antiretroviral", "sti", "stis", "std", "stds",
        "syphilis", "gonorrhea", "gonorrhoea", "chlamydia", "herpes", "hepatitis",
        "tuberculosis", "viral load", "test result", "testing", "sex", "sexual",
        "sex work", "sex worker", "prostitution", "prostitute", "escort", "condom",
        "condoms", "drug", "drugs", "methadone", "overdose", "harm reduction",
        "peer educator", "outreach", "transgender", "gay", "lgbt",
    ),
    "vi": (
        "sida", "mại dâm*", "bán dâm*", "mua dâm*", "gái bán hoa*", "tình dục*",
        "bao cao su*", "ma túy*", "ma tuý*", "methadone", "xét nghiệm*", "phơi nhiễm*",
        "giang mai*", "bệnh lậu*", "viêm gan*", "bệnh lao*", "lao phổi*",
        "kháng vi rút*", "tải lượng vi rút*", "dương tính*", "âm tính*",
        "đồng tính*", "chuyển giới*", "giảm hại*", "đồng đẳng*", "nhóm tự lực*",
        "kích dục*", "tiêm chích*",
    ),
}


def _fold(text: str) -> str:
    """Lower-case and drop diacritics (đ becomes d)."""
    text = unicodedata.normalize("NFKD", text.lower().replace("đ", "d").replace("Đ", "d"))
    return "".join(c for c in text if not unicodedata.combining(c))


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).lower()


def _pattern(words: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(
        r"\s+".join(re.escape(part) for part in w.split()) for w in sorted(words, key=len,
                                                                             reverse=True)
    )
    return re.compile(rf"(?<!\w)({alternatives})(?!\w)")


_ACCENTED: list[tuple[str, str]] = []  # (match form, shown form)
_FOLDED: list[tuple[str, str]] = []
for _words in SENSITIVE_WORDS.values():
    for _entry in _words:
        _word = _entry.rstrip("*")
        _ACCENTED.append((_nfc(_word), _word))
        if _entry.endswith("*") or _word.isascii():
            _FOLDED.append((_fold(_word), _word))
_ACCENTED_RE = _pattern([w for w, _ in _ACCENTED])
_FOLDED_RE = _pattern([w for w, _ in _FOLDED])
_SHOWN = {**{w: s for w, s in _ACCENTED}, **{w: s for w, s in _FOLDED}}


def sensitive_word(text: str) -> str | None:
    """The first sensitive word in `text` (as listed), or None."""
    for regex, form in ((_ACCENTED_RE, _nfc(text)), (_FOLDED_RE, _fold(text))):
        match = regex.search(form)
        if match:
            return _SHOWN.get(re.sub(r"\s+", " ", match.group(1)), match.group(1))
    return None


@dataclass(frozen=True)
class TemplateProblem:
    """Why a template was refused: a code, and the offending word or placeholder."""

    code: str  # sensitive_word | unknown_placeholder | missing_time | bad_braces | too_long | empty
    detail: str = ""


def template_problem(template: str) -> TemplateProblem | None:
    """None when the template may be used, else the first problem found."""
    if not template.strip():
        return TemplateProblem("empty")
    if len(template) > MAX_TEMPLATE_LENGTH:
        return TemplateProblem("too_long", str(MAX_TEMPLATE_LENGTH))
    try:
        parsed = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(template)
                  if f is not None]
    except ValueError:
        return TemplateProblem("bad_braces")
    if any(spec or conv for _, spec, conv in parsed):
        return TemplateProblem("bad_braces")  # {time:>9999999} would be a memory bomb
    fields = [f for f, _, _ in parsed]
    for name in fields:
        if name not in PLACEHOLDERS:
            return TemplateProblem("unknown_placeholder", "{" + name + "}")
    for name in REQUIRED_PLACEHOLDERS:
        if name not in fields:
            return TemplateProblem("missing_time", "{" + name + "}")
    word = sensitive_word(template)
    if word:
        return TemplateProblem("sensitive_word", word)
    return None


def group_templates(settings: dict | None) -> dict[str, dict[str, str]]:
    """The group's templates, defaults filled in."""
    custom = (settings or {}).get("reminder_templates") or {}
    return {
        kind: {
            lang: (custom.get(kind) or {}).get(lang) or DEFAULT_TEMPLATES[kind][lang]
            for lang in LANGUAGES
        }
        for kind in KINDS
    }


def render(template: str, *, at: datetime, tz: str, locale: str, place: str | None,
           group_name: str) -> str:
    """Fill a template; a place whose name would give too much away is replaced."""
    lang = locale if locale in LANGUAGES else "vi"
    if not place or sensitive_word(place):
        place = NEUTRAL_PLACE[lang]
    when = format_datetime(at, TIME_PATTERNS[lang], tzinfo=ZoneInfo(tz), locale=lang)
    return template.format_map({"time": when, "place": place, "group": group_name})
