"""The client-code normaliser and the per-group pseudonym (DESIGN section 7)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harmnet import clientcode
from harmnet.clientcode import CodeError, normalise, pseudonym

# (mother, father, sex, year) -> normalised code
CASES = [
    (("Hương", "Đức", "F", 1996), "HUDUF1996"),            # the design's example
    (("hương", "đức", "f", "1996"), "HUDUF1996"),          # lower case
    (("HƯƠNG", "ĐỨC", "F", "1996"), "HUDUF1996"),          # upper case
    (("Huong", "Duc", "F", "1996"), "HUDUF1996"),          # typed without diacritics
    ((" Hương ", "  Đức", " F ", " 1996 "), "HUDUF1996"),  # surrounding spaces
    (("H ư ơ n g", "Đ ức", "F", "19 96"), "HUDUF1996"),    # spaces inside
    (("Hu\u031bo\u031b\u0300ng", "\u0110u\u031b\u0301c", "F", 1996), "HUDUF1996"),  # NFD input
    (("Hương", "Ðức", "F", 1996), "HUDUF1996"),            # Icelandic eth for Đ
    (("Hương", "ɖức", "F", 1996), "HUDUF1996"),            # African d look-alike
    (("Hương", "Đức", "F", "１９９６"), "HUDUF1996"),       # full-width digits
    (("Ｈương", "Ｄức", "Ｆ", 1996), "HUDUF1996"),           # full-width letters
    (("Hương.", "Đức-", "F", 1996), "HUDUF1996"),          # punctuation dropped
    (("H", "Đ", "M", 1990), "H9D9M1990"),                  # one-letter names padded
    (("", "Đức", "M", 1990), "99DUM1990"),                 # unknown mother's name
    ((None, None, "T", 2001), "9999T2001"),                # both names unknown
    (("Lan", "Minh", "T", None), "LAMIT9999"),             # unknown year
    (("Lan", "Minh", "T", ""), "LAMIT9999"),               # blank year
    (("Lan", "Minh", "T", "9999"), "LAMIT9999"),           # year typed as unknown
    (("Ánh", "Ông", "F", 1988), "ANONF1988"),              # leading accented vowels
    (("Ước", "Ưng", "M", 1979), "UOUNM1979"),              # ư and ơ
    (("Ẩn", "Ỷ", "F", 1985), "AN Y9F1985".replace(" ", "")),  # stacked diacritics, short name
    (("Yến", "Ý", "F", 2000), "YEY9F2000"),
    (("Đào", "Đăng", "M", 1970), "DADAM1970"),             # Đ at the start of both
    (("đào", "đăng", "m", 1970), "DADAM1970"),             # đ lower case
    (("Thị Hương", "Văn Đức", "F", 1996), "THVAF1996"),   # whole name typed: first letters
    (("1Lan", "2Minh", "F", 1999), "LAMIF1999"),           # digits are not letters
    (("Straße", "Øystein", "M", 1980), "STØYM1980"),       # other Latin letters kept
    (("Bé", "Tí", "F", 2005), "BETIF2005"),
    (("Nguyệt", "Quyết", "T", 1992), "NGQUT1992"),
    (("Khánh", "Phước", "F", 1901), "KHPHF1901"),
    (("Chi", "Gia", "M", 2024), "CHGIM2024"),
    (("—", "…", "F", 1995), "9999F1995"),                  # only punctuation: unknown
    (("Hà\t", "\nBình", "F", 1993), "HABIF1993"),          # tabs and newlines
]


@pytest.mark.parametrize(("answers", "expected"), CASES)
def test_normaliser(answers, expected):
    assert normalise(*answers) == expected


def test_there_are_at_least_thirty_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize(("sex", "year"), [
    ("X", 1990), ("", 1990), (None, 1990), ("FM", 1990),   # sex must be F, M or T
    ("F", "96"), ("F", "19960"), ("F", "199a"), ("F", 1899), ("F", "-1990"), ("F", "1.99"),
])
def test_refused_answers(sex, year):
    with pytest.raises(CodeError):
        normalise("Lan", "Minh", sex, year)


def test_year_after_max_is_refused():
    assert normalise("Lan", "Minh", "F", 2024, max_year=2024) == "LAMIF2024"
    with pytest.raises(CodeError):
        normalise("Lan", "Minh", "F", 2025, max_year=2024)


def test_all_unknown():
    assert clientcode.is_all_unknown(normalise("", None, "F", ""))
    assert not clientcode.is_all_unknown(normalise("", None, "F", "1990"))
    assert not clientcode.is_all_unknown(normalise("A", None, "F", ""))


def test_same_answers_typed_differently_give_the_same_pseudonym():
    variants = [("Hương", "Đức", "F", 1996), ("huong", "DUC", "f", " 1996"),
                ("HƯƠNG ", "đỨc", "F", "１９９６")]
    assert len({pseudonym(7, normalise(*v), "k") for v in variants}) == 1


def test_same_code_in_two_groups_gives_two_pseudonyms():
    code = normalise("Hương", "Đức", "F", 1996)
    assert pseudonym(1, code, "k") != pseudonym(2, code, "k")
    assert pseudonym(1, code, "k") != pseudonym(1, code, "other-secret")
    assert len(pseudonym(1, code, "k")) == 64 and code not in pseudonym(1, code, "k")


def test_pseudonym_uses_the_app_secret(app):
    code = normalise("Hương", "Đức", "F", 1996)
    assert pseudonym(3, code) == pseudonym(3, code, app.config["PSEUDONYM_KEY"])


@given(st.text(max_size=30), st.text(max_size=30), st.sampled_from("FMTfmt"),
       st.one_of(st.none(), st.integers(1900, 2100)))
def test_normaliser_is_total_and_stable(mother, father, sex, year):
    code = normalise(mother, father, sex, year)
    assert len(code) >= 9 and code[4] in "FMT"
    # Normalising a second time changes nothing.
    assert normalise(code[:2], code[2:4], code[4], code[5:]) == code
