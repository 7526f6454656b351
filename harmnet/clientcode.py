"""Client codes (DESIGN section 7): the normaliser and the per-group pseudonym.

A client code is built from answers a client can repeat at every contact: the first two
letters of the mother's and the father's given names, sex (F, M, T) and year of birth.
Only the HMAC of the normalised code is ever stored; the code and the answers live in the
POST body of one request and nowhere else (never a URL, a log line, the session or a table).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from flask import current_app

SEXES = ("F", "M", "T")
UNKNOWN_LETTER = "9"
UNKNOWN_YEAR = "9999"
MIN_YEAR = 1900

# Letters NFKD does not decompose but that a Vietnamese keyboard (or a look-alike) produces.
_FOLD = str.maketrans({
    "Đ": "D", "đ": "d",  # U+0110 / U+0111, Vietnamese D with stroke
    "Ð": "D", "ð": "d",  # U+00D0 / U+00F0, the Icelandic eth that looks the same
    "Ɖ": "D", "ɖ": "d",  # U+0189 / U+0256, African D, another look-alike
})

# Bumping this changes every pseudonym: do it only with a re-keying migration.
_KEY_CONTEXT = b"harmnet/client-code/v1/group:"


class CodeError(ValueError):
    """An answer cannot be part of a client code; `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def name_part(name: str | None) -> str:
    """The first two letters of a given name: no diacritics, Đ as D, upper case, 9-padded."""
    if not name:
        return UNKNOWN_LETTER * 2
    text = unicodedata.normalize("NFKD", name.translate(_FOLD))
    letters = [
        c for c in text
        if not unicodedata.combining(c) and c.isalpha()
    ]
    folded = "".join(letters).upper()
    # upper() may expand a letter (ß -> SS); take the first two of the result.
    return (folded[:2] + UNKNOWN_LETTER * 2)[:2]


def sex_part(sex: str | None) -> str:
    """F, M or T."""
    value = unicodedata.normalize("NFKC", sex or "").strip().upper()
    if value not in SEXES:
        raise CodeError("sex")
    return value


def year_part(year: str | int | None, *, max_year: int | None = None) -> str:
    """Four digits of the year of birth; 9999 when unknown (blank)."""
    if year is None:
        return UNKNOWN_YEAR
    text = unicodedata.normalize("NFKC", str(year))
    text = "".join(c for c in text if not c.isspace())
    if text == "" or text == UNKNOWN_YEAR:
        return UNKNOWN_YEAR
    if not (len(text) == 4 and text.isascii() and text.isdigit()):
        raise CodeError("year")
    value = int(text)
    if value < MIN_YEAR or (max_year is not None and value > max_year):
        raise CodeError("year")
    return text


def normalise(mother: str | None, father: str | None, sex: str | None,
              year: str | int | None, *, max_year: int | None = None) -> str:
    """The normalised client code, e.g. ("Hương", "Đức", "F", 1996) -> "HUDUF1996"."""
    return name_part(mother) + name_part(father) + sex_part(sex) + year_part(year,
                                                                              max_year=max_year)


def is_all_unknown(code: str) -> bool:
    """True when neither name nor the year is known: such a code tells no one apart."""
    return code[:4] == UNKNOWN_LETTER * 4 and code[5:] == UNKNOWN_YEAR


def group_key(group_id: int, secret: str | bytes | None = None) -> bytes:
    """The group's own pseudonym key, derived from the server secret with HMAC-SHA256.

    A code yields unrelated pseudonyms in two groups, so rows cannot be joined across groups.
    """
    if secret is None:
        secret = current_app.config["PSEUDONYM_KEY"]
    if isinstance(secret, str):
        secret = secret.encode()
    if not secret:
        raise RuntimeError("PSEUDONYM_KEY is not configured")
    return hmac.new(secret, _KEY_CONTEXT + str(int(group_id)).encode(), hashlib.sha256).digest()


def pseudonym(group_id: int, code: str, secret: str | bytes | None = None) -> str:
    """Hex HMAC-SHA256 of a normalised code under the group's key."""
    return hmac.new(group_key(group_id, secret), code.encode(), hashlib.sha256).hexdigest()
