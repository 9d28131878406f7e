"""Tests of faxbatch.numbers.reading: a corpus of messy numbers, field splitting, judgement,
properties.

Every expected E.164 form and verdict in the corpus was checked by running phonenumbers 9.0.43.
"""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faxbatch.numbers.reading import (
    NUMBER_TYPES,
    NumberReading,
    Verdict,
    area_code_from,
    best,
    flag_duplicates,
    is_valid_region,
    read_number,
    read_numbers,
    suggest_region,
)

OK, WARNING, REFUSED, INVALID = "ok", "warning", "refused", "invalid"

# (text, recipient's country, sender's country, E.164 or None, verdict, words of a reason).
# Read as kind "fax"; every row is one number.
CORPUS: list[tuple[str, str | None, str | None, str | None, str, str]] = [
    # Kazakhstan (the examples of DOMAIN.md first)
    ("++7727 2715802", "KZ", None, "+77272715802", OK, ""),
    ("8 (727) 271-58-02", "KZ", None, "+77272715802", OK, ""),
    ("++7727 2715807/", "KZ", None, "+77272715807", OK, ""),
    ("++7 (7172) 74 55 24", "KZ", None, "+77172745524", OK, ""),
    ("0077272715802", "KZ", "DE", "+77272715802", OK, ""),
    ("011 7 727 271 5802", "KZ", "US", "+77272715802", OK, ""),
    ("2715802", "KZ", None, None, INVALID, "no area code"),
    ("+7 (7172) 74-55-24 ext. 12", "KZ", None, "+77172745524", WARNING, "extension"),
    ("8 (7172) 74-55-24", "KZ", "KZ", "+77172745524", OK, ""),
    ("Факс: 8 (7212) 41-07-16", "KZ", "RU", "+77212410716", OK, ""),
    ("8 (7122) 35-44-60", "KZ", None, "+77122354460", OK, ""),
    ("+7 (7252) 53-24-01", "KZ", "GB", "+77252532401", OK, ""),
    ("8 701 123 45 67", "KZ", "KZ", "+77011234567", WARNING, "mobile"),
    ("8 800 080 7777", "KZ", "KZ", "+78000807777", OK, ""),
    ("8 800 080 7777", "KZ", "DE", "+78000807777", WARNING, "toll-free"),
    ("745524", "KZ", None, None, INVALID, "no area code"),
    ("00 7 727 271 58 02", "KZ", None, "+77272715802", OK, "international prefix"),
    ("0077272715802", "KZ", "US", "+77272715802", OK, "international prefix"),
    ("+7 727 27158", "KZ", None, None, INVALID, "too short"),
    ("+7 727 27158022", "KZ", None, None, INVALID, "too long"),
    ("+7-727-271-58-02.", "KZ", None, "+77272715802", OK, ""),
    ("8 (727) 271-58-02 (приёмная)", "KZ", None, "+77272715802", OK, ""),
    ("8(727)2715802 доб. 104", "KZ", None, "+77272715802", WARNING, "extension"),
    ("27158a02", "KZ", None, None, INVALID, "letters"),
    ("+7 7O1 123 45 67", "KZ", None, None, INVALID, "letter O instead of a zero"),
    # Russia
    ("8 (495) 606-36-02", "RU", "RU", "+74956063602", OK, ""),
    ("+7 (812) 571-70-00", "RU", None, "+78125717000", OK, ""),
    ("тел./факс: +7 (495) 244-16-06", "RU", None, "+74952441606", OK, ""),
    ("8 (499) 244-16-06 доб. 123", "RU", None, "+74992441606", WARNING, "extension"),
    ("8 (495) 244-16-0б", "RU", None, None, INVALID, "letters"),
    ("8 495 123 45 67", "KZ", "RU", "+74951234567", WARNING, "in RU, but the recipient is in KZ"),
    ("8 10 49 30 18170", "DE", "RU", "+493018170", WARNING, "ambiguous"),
    ("8 (809) 505-05-05", "RU", "RU", "+78095050505", REFUSED, "premium-rate"),
    # Germany
    ("0049 30 1817 0", "DE", "FR", "+493018170", OK, ""),
    ("030 / 227 32020", "DE", "DE", "+493022732020", OK, ""),
    ("(0 30) 22 73 20 20", "DE", "DE", "+493022732020", OK, ""),
    ("+49 (0)30 2091 0", "DE", None, "+493020910", OK, ""),
    ("089 2165-0", "DE", "DE", "+498921650", OK, ""),
    ("Fax: +49 (0)228 99 17-0", "DE", "AT", "+4922899170", OK, ""),
    ("0180 5 12 34 56", "DE", "DE", "+491805123456", REFUSED, "shared-cost"),
    ("0900 1 234567", "DE", "DE", "+499001234567", REFUSED, "premium-rate"),
    ("+49 171 2345678", "DE", None, "+491712345678", WARNING, "mobile"),
    ("8~10 49 30 20910", "DE", "KZ", "+493020910", WARNING, "ambiguous"),
    ("2091 11", "DE", None, "+49209111", WARNING, "without its leading 0"),
    # France
    ("+33 (0)1 43 17 53 53", "FR", None, "+33143175353", OK, ""),
    ("01 43 17 53 53", "FR", "FR", "+33143175353", OK, ""),
    ("0033 1 43 17 53 53", "FR", "DE", "+33143175353", OK, ""),
    ("08 99 12 34 56", "FR", "FR", "+33899123456", REFUSED, "premium-rate"),
    ("06 12 34 56 78", "FR", "FR", "+33612345678", WARNING, "mobile"),
    ("01 43 17 53", "FR", "FR", None, INVALID, "too short for a FR number"),
    # United Kingdom
    ("+44 (0)20 7008 1500", "GB", None, "+442070081500", OK, ""),
    ("020 7219 3000", "GB", "GB", "+442072193000", OK, ""),
    ("0044 20 7219 3000", "GB", "FR", "+442072193000", OK, ""),
    ("0909 879 0000", "GB", "GB", "+449098790000", REFUSED, "premium-rate"),
    ("0844 123 4567", "GB", "GB", "+448441234567", REFUSED, "premium-rate"),
    ("0800 123 4567", "GB", "DE", "+448001234567", WARNING, "toll-free"),
    ("0800 123 4567", "GB", "GB", "+448001234567", OK, ""),
    ("07400 123456", "GB", "GB", "+447400123456", WARNING, "mobile"),
    ("0114 222 2000", "GB", "US", "+441142222000", OK, ""),
    ("2345678", "GB", None, None, INVALID, "no area code"),
    ("+44 56 1234 5678", "GB", "GB", "+445612345678", OK, ""),
    ("+44 70 1234 5678", "GB", "GB", "+447012345678", WARNING, "personal number"),
    ("+44 76 2345 6789", "GB", "GB", "+447623456789", REFUSED, "pager"),
    # United States and Canada
    ("+1 202-647-4000", "US", None, "+12026474000", OK, ""),
    ("(202) 647-4000", "US", "US", "+12026474000", OK, ""),
    ("1-202-647-4000", "US", "DE", "+12026474000", OK, ""),
    ("1-800-234-5678", "US", "DE", "+18002345678", WARNING, "toll-free"),
    ("1-800-234-5678", "US", "US", "+18002345678", OK, ""),
    ("1-900-234-5678", "US", "US", "+19002345678", REFUSED, "premium-rate"),
    ("647-4000", "US", "US", None, INVALID, "no area code"),
    ("+1 613 992 5000", "CA", "US", "+16139925000", OK, ""),
    # India
    ("+91 11 2301 2113", "IN", None, "+911123012113", OK, ""),
    ("011-2301 2113", "IN", "IN", "+911123012113", OK, ""),
    ("+91 98765 43210", "IN", None, "+919876543210", WARNING, "mobile"),
    ("2301 2113", "IN", "IN", None, INVALID, "no area code"),
    # Brazil
    ("+55 61 2030-8000", "BR", None, "+556120308000", OK, ""),
    ("(61) 2030-8000", "BR", "BR", "+556120308000", OK, ""),
    ("0055 61 2030 8000", "BR", "DE", "+556120308000", OK, ""),
    ("(61) 99876-5432", "BR", "BR", "+5561998765432", WARNING, "mobile"),
    # Japan
    ("+81 3-3580-3311", "JP", None, "+81335803311", OK, ""),
    ("03-3580-3311", "JP", "JP", "+81335803311", OK, ""),
    ("011 81 3 3580 3311", "JP", "US", "+81335803311", OK, ""),
    ("090-1234-5678", "JP", "JP", "+819012345678", WARNING, "mobile"),
    # Turkey
    ("+90 (312) 292 10 00", "TR", None, "+903122921000", OK, ""),
    ("0 312 292 10 00", "TR", "TR", "+903122921000", OK, ""),
    ("0090 312 292 1000", "TR", "DE", "+903122921000", OK, ""),
    ("0 (532) 123 45 67", "TR", "TR", "+905321234567", WARNING, "mobile"),
    # Ukraine
    ("+380 44 238 15 88", "UA", None, "+380442381588", OK, ""),
    ("(044) 238-15-88", "UA", "UA", "+380442381588", OK, ""),
    ("238-15-88", "UA", "UA", None, INVALID, "no area code"),
    ("+380 (67) 123-45-67", "UA", None, "+380671234567", WARNING, "mobile"),
    # Elsewhere in Europe
    ("+41 22 917 90 00", "CH", None, "+41229179000", OK, ""),
    ("0041 22 917 90 00", "CH", "FR", "+41229179000", OK, ""),
    ("022 917 90 00", "CH", "CH", "+41229179000", OK, ""),
    ("+43 1 90115-0", "AT", None, "+431901150", OK, ""),
    ("+39 06 3691 1", "IT", None, "+390636911", OK, ""),
    ("06 36911", "IT", "IT", "+390636911", OK, ""),
    ("+34 913 79 97 00", "ES", None, "+34913799700", OK, ""),
    ("901 123 456", "ES", "ES", "+34901123456", REFUSED, "shared-cost"),
    ("+31 70 348 6486", "NL", None, "+31703486486", OK, ""),
    ("0011 32 12 34 56 78", "BE", "AU", "+3212345678", WARNING, "ambiguous"),
    ("+48 22 523 90 00", "PL", None, "+48225239000", OK, ""),
    ("8 017 327 29 17", "BY", "BY", "+375173272917", OK, ""),
    ("+375 17 327-29-17", "BY", None, "+375173272917", OK, ""),
    # Asia, Caucasus, Oceania
    ("010-6596 1114", "CN", "CN", "+861065961114", OK, ""),
    ("+86 10 6596 1114", "CN", None, "+861065961114", OK, ""),
    ("+998 71 233 64 75", "UZ", None, "+998712336475", OK, ""),
    ("+996 312 62 05 45", "KG", None, "+996312620545", OK, ""),
    ("+995 32 294 50 00", "GE", None, "+995322945000", OK, ""),
    ("+994 12 596 91 00", "AZ", None, "+994125969100", OK, ""),
    ("(02) 6261 1111", "AU", "AU", "+61262611111", OK, ""),
    ("011 61 2 6261 1111", "AU", "US", "+61262611111", OK, ""),
    # No country to read it with
    ("2715802", None, None, None, INVALID, "no country code"),
    ("8 (727) 2715802", None, "KZ", "+77272715802", WARNING, "recipient's country is not given"),
    ("+999 123 4567", None, None, None, INVALID, "known country code"),
    ("+7 727 271 58 02", None, None, "+77272715802", OK, ""),
]


@pytest.mark.parametrize(("text", "recipient", "sender", "e164", "verdict", "words"), CORPUS)
def test_corpus(
    text: str,
    recipient: str | None,
    sender: str | None,
    e164: str | None,
    verdict: str,
    words: str,
) -> None:
    reading = read_number(text, kind="fax", recipient_region=recipient, sender_region=sender)
    assert reading.e164 == e164, reading.reasons
    assert reading.verdict == verdict, reading.reasons
    assert reading.usable == (verdict in (OK, WARNING))
    if words:
        assert any(words in reason for reason in reading.reasons), reading.reasons
    if verdict == OK and not words:
        assert reading.reasons == ()


def test_corpus_is_broad() -> None:
    assert len(CORPUS) >= 60
    recipients = {row[1] for row in CORPUS if row[1]}
    assert len(recipients) >= 10
    assert len({row[0] for row in CORPUS}) > 0.9 * len(CORPUS)


def _read(
    text: str,
    recipient: str | None = "KZ",
    sender: str | None = None,
    allow_types: frozenset[str] = frozenset(),
) -> tuple[NumberReading, ...]:
    return read_numbers(
        text, kind="fax", recipient_region=recipient, sender_region=sender, allow_types=allow_types
    )


# --------------------------------------------------------------------------- a reading's fields


def test_fields_of_a_valid_reading() -> None:
    reading = read_number(
        "8 (727) 271-58-02", kind="fax", recipient_region="KZ", sender_region="DE"
    )
    assert reading.raw == "8 (727) 271-58-02"
    assert reading.e164 == "+77272715802"
    assert reading.valid and reading.possible
    assert reading.number_type == "fixed_line"
    assert reading.region == "KZ"
    assert reading.location == "Almaty"
    assert reading.time_zones == ("Asia/Almaty",)
    # phonenumbers groups Almaty numbers as 7272 71 58 02, not 727 271 58 02.
    assert reading.international == "+7 7272 71 58 02"
    assert reading.national == "8 (7272) 71 58 02"
    assert reading.dial_string == "00 7 7272 71 58 02"
    assert reading.extension is None and reading.label is None
    assert reading.alternatives == ()


def test_dial_string_is_e164_without_a_sender_and_national_at_home() -> None:
    assert _read("8 (727) 271-58-02")[0].dial_string == "+77272715802"
    assert _read("8 (727) 271-58-02", sender="KZ")[0].dial_string == "8 (7272) 71 58 02"
    assert _read("+1 202-647-4000", sender="US")[0].dial_string == "1 (202) 647-4000"
    assert _read("+1 202-647-4000", sender="US")[0].time_zones == ("America/New_York",)


def test_invalid_reading_has_no_number_fields() -> None:
    reading = read_number("2715802", kind="fax", recipient_region="KZ", sender_region=None)
    assert reading.verdict is Verdict.INVALID and not reading.usable
    assert reading.e164 is None and reading.international is None and reading.dial_string is None
    assert reading.region is None and reading.time_zones == () and not reading.valid
    assert reading.reasons == (
        "has no area code: write it with the city code, as +7 <city code> 2715802",
    )


def test_location_empty_becomes_none() -> None:
    reading = read_number("0909 879 0000", kind="fax", recipient_region="GB", sender_region="GB")
    assert reading.location is None


def test_reading_is_frozen() -> None:
    reading = _read("8 (727) 271-58-02")[0]
    with pytest.raises(AttributeError):
        reading.e164 = "+1"  # type: ignore[misc]


# --------------------------------------------------------------------------- several numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2715807/08", ["2715807", "2715808"]),
        ("271-58-02, 271-58-03", ["271-58-02", "271-58-03"]),
        ("fax 2715802; tel 2715807", ["2715802", "2715807"]),
        ("+7 727 271 58 02 / 271 58 03", ["+7 727 271 58 02", "+7 727 271 58 03"]),
        ("8 (727) 271-58-02, 271-58-03", ["8 (727) 271-58-02", "8 (727) 271-58-03"]),
        (
            "8 (727) 271-58-02/03/04",
            ["8 (727) 271-58-02", "8 (727) 271-58-03", "8 (727) 271-58-04"],
        ),
        ("факс 8 (727) 271-58-02 или 271-58-03", ["8 (727) 271-58-02", "8 (727) 271-58-03"]),
        ("+7 727 2715802 / +7 727 2715803", ["+7 727 2715802", "+7 727 2715803"]),
        ("2715802/2715803", ["2715802", "2715803"]),
        ("++7727 2715807/", ["+7727 2715807"]),
        ("727/2715802", ["727/2715802"]),
        ("+7 727 2715802\n+7 7172 745524", ["+7 727 2715802", "+7 7172 745524"]),
        ("8 (727) 271-58-02, 8 701 123 45 67", ["8 (727) 271-58-02", "8 701 123 45 67"]),
    ],
)
def test_fields_split_into_candidates(text: str, expected: list[str]) -> None:
    assert [r.raw for r in _read(text)] == expected


def test_slash_suffix_replaces_last_digits() -> None:
    readings = _read("+7 727 271 58 02 / 271 58 03")
    assert [r.e164 for r in readings] == ["+77272715802", "+77272715803"]
    assert all(r.verdict == OK for r in readings)
    assert "completed from the number before it" in readings[1].reasons[0]


def test_suffix_of_a_local_number_stays_local() -> None:
    readings = _read("2715807/08")
    assert [r.raw for r in readings] == ["2715807", "2715808"]
    assert all(r.verdict == INVALID and "area code" in r.reasons[-1] for r in readings)


def test_short_number_under_its_own_label_is_completed_with_a_warning() -> None:
    tel, fax = _read("тел. 8 (7172) 74-55-24, факс 74-55-25")
    assert (fax.label, fax.e164, fax.verdict) == ("fax", "+77172745525", WARNING)
    assert "completed from the number before it" in fax.reasons[0]
    assert tel.label == "tel"


def test_german_dash_suffix_replaces_the_extension_part() -> None:
    readings = _read("+49 30 2091-0 / -11", "DE")
    assert [r.e164 for r in readings] == ["+493020910", "+4930209111"]
    readings = _read("Tel. 030 2091-0, Fax -111", "DE", "DE")
    assert [(r.label, r.raw) for r in readings] == [("tel", "030 2091-0"), ("fax", "030 2091-111")]


def test_german_area_code_slash_number_is_one_number() -> None:
    (reading,) = _read("030/2091 0", "DE", "DE")
    assert reading.e164 == "+493020910" and reading.verdict == OK


def test_labels_are_kept() -> None:
    readings = _read("fax 8 (727) 271-58-02; tel 8 (727) 271-58-07")
    assert [(r.label, r.e164) for r in readings] == [
        ("fax", "+77272715802"),
        ("tel", "+77272715807"),
    ]
    # A number marked as a telephone in a fax field is doubtful; best() takes the fax.
    assert readings[0].verdict == OK and readings[1].verdict == WARNING
    assert "voice line" in readings[1].reasons[0]
    assert best(readings) is readings[0]


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("Tel./Fax: +7 727 2715802", ["tel/fax"]),
        ("т/ф 8 (727) 271-58-02", ["tel/fax"]),
        ("тел.: 8 (727) 271-58-07, факс: 8 (727) 271-58-02", ["tel", "fax"]),
        ("T: +49 30 2091 0 F: +49 30 2091 1111", ["tel", "fax"]),
        ("8 (727) 271-58-02 (fax), 8 (727) 271-58-07 (tel)", ["fax", "tel"]),
        ("Fax: 8 (727) 271-58-02, 271-58-03", ["fax", "fax"]),
        ("Fax No. 8(727)2715802", ["fax"]),
        ("Приёмная: 8 (727) 271-58-02", ["приёмная"]),
        ("моб. 8 701 123 45 67", ["mobile"]),
        ("Канцелярия 8 (727) 271 58 02", ["канцелярия"]),
        ("Fax - 8 (727) 271 58 02", ["fax"]),
    ],
)
def test_label_words(text: str, labels: list[str]) -> None:
    assert [r.label for r in _read(text)] == labels


def test_label_words_alone_are_not_numbers() -> None:
    assert _read("fax:") == ()
    assert _read("тел.") == ()


@pytest.mark.parametrize("blank", ["", "   ", "\n", "n/a", "N/A", "-", "—", "нет"])
def test_blank_field_gives_nothing(blank: str) -> None:
    assert _read(blank) == ()


def test_read_number_wants_exactly_one() -> None:
    empty = read_number("", kind="fax", recipient_region="KZ", sender_region=None)
    assert empty.verdict == INVALID and empty.reasons == ("is empty",)
    two = read_number(
        "+77272715802, +77272715803", kind="fax", recipient_region=None, sender_region=None
    )
    assert two.verdict == INVALID and "holds 2 numbers" in two.reasons[0]
    assert two.alternatives == ("+77272715802", "+77272715803")


def test_words_in_a_field_make_it_invalid() -> None:
    (reading,) = _read("см. сайт")
    assert reading.verdict == INVALID
    assert reading.reasons == ("has letters in it (см, сайт)",)


@pytest.mark.parametrize(
    "text",
    [
        "8 (727) 271 58 02 - приёмная",
        "8 (727) 271 58 02 (приёмная)",
        "(+7 727) 271 58 02",
        "8 (727) 271 58 02 (main line)",
        "Fax: 8 (727) 271 58 02.",
        "8 (727) 271 58 02, fax: -",
    ],
)
def test_remarks_around_a_number_are_dropped(text: str) -> None:
    (reading,) = _read(text)
    assert reading.e164 == "+77272715802" and reading.verdict in (OK, WARNING)


def test_two_numbers_without_a_separator_get_a_hint() -> None:
    (reading,) = _read("+7 727 2715802 2715803")
    assert reading.verdict == INVALID
    assert "separate them with a comma" in reading.reasons[0]


# --------------------------------------------------------------------------- extensions


@pytest.mark.parametrize(
    "text",
    [
        "+7 (7172) 74-55-24 ext. 12",
        "+7 (7172) 74-55-24 ext 12",
        "+7 (7172) 74-55-24 x12",
        "+7 (7172) 74-55-24x12",
        "+7 (7172) 74-55-24 #12",
        "+7 (7172) 74-55-24 доб. 12",
        "+7 (7172) 74-55-24, доб. 12",
        "+7 (7172) 74-55-24 вн. 12",
        "+7 (7172) 74-55-24;ext=12",
        "+7 (7172) 74-55-24 (доб. 12)",
    ],
)
def test_extensions_are_kept_apart(text: str) -> None:
    (reading,) = _read(text)
    assert reading.e164 == "+77172745524"
    assert reading.extension == "12"
    assert reading.raw == "+7 (7172) 74-55-24"
    assert reading.verdict == WARNING and "extension" in reading.reasons[0]


def test_phone_with_extension_is_fine() -> None:
    (reading,) = read_numbers(
        "+1 (202) 647-4000 x1234", kind="phone", recipient_region="US", sender_region="US"
    )
    assert (reading.e164, reading.extension, reading.verdict) == ("+12026474000", "1234", OK)


def test_hash_before_a_number_is_not_an_extension() -> None:
    (reading,) = _read("Fax # 8 (727) 271-58-02")
    assert reading.e164 == "+77272715802" and reading.extension is None


# --------------------------------------------------------------------------- judgement


def test_missing_area_code_names_no_other_citys_code() -> None:
    (reading,) = _read("5551234", "US")
    assert reading.reasons == (
        "has no area code: write it with the city code, as +1 <city code> 5551234",
    )
    (reading,) = _read("238-15-88", "UA")
    assert reading.reasons[0].endswith("as +380 <city code> 2381588")
    # an Astana office's number without its code: no Almaty code suggested
    (astana,) = _read("74 55 24", "KZ")
    assert "727" not in astana.reasons[0] and "Almaty" not in astana.reasons[0]


def test_the_area_code_of_the_recipients_other_number() -> None:
    (missing,) = _read("74 55 24", "KZ")
    (phone,) = _read("8 (7172) 74-55-20", "KZ")
    assert area_code_from(missing, [phone]) == (
        "the recipient's other number, +7 7172 74 55 20, has the area code 7172 (Astana): "
        "if this one is in the same city, it is +7 7172 745524"
    )
    # another country's number, a mobile (no area code) or a number that is fine: nothing
    (berlin,) = _read("+49 30 2091 0", "DE")
    (mobile,) = _read("+7 701 123 45 67", "KZ")
    assert area_code_from(missing, [berlin, mobile]) is None
    assert area_code_from(phone, [missing]) is None


def test_missing_area_code_with_country_code() -> None:
    (reading,) = _read("+7 2715802")
    assert reading.verdict == INVALID and "no area code" in reading.reasons[0]


def test_ambiguous_reading_lists_both() -> None:
    (reading,) = _read("0011 32 12 34 56 78", "BE", "AU")
    assert reading.verdict == WARNING and reading.usable
    assert reading.e164 == "+3212345678"
    assert reading.alternatives == ("+3212345678", "+13212345678")
    assert "ambiguous" in reading.reasons[0]


def test_unknown_sender_reads_00_and_011_as_international() -> None:
    for text in ("0077272715802", "011 7 727 271 58 02", "8~10 7 727 271 58 02"):
        (reading,) = _read(text, None, None)
        assert reading.e164 == "+77272715802", text
        assert reading.verdict == OK and "international prefix" in reading.reasons[0]


def test_00_with_a_kz_recipient_needs_no_sender() -> None:
    # phonenumbers alone reads this with region KZ as a wrong number, +70077272715802.
    wrong = phonenumbers.parse("0077272715802", "KZ")
    assert phonenumbers.format_number(wrong, phonenumbers.PhoneNumberFormat.E164) != "+77272715802"
    (reading,) = _read("0077272715802", "KZ", None)
    assert reading.e164 == "+77272715802"


def test_allowed_types_are_not_refused() -> None:
    (refused,) = _read("0909 879 0000", "GB", "GB")
    assert refused.verdict == REFUSED and not refused.usable
    (allowed,) = _read("0909 879 0000", "GB", "GB", allow_types=frozenset({"premium_rate"}))
    assert allowed.verdict == OK and allowed.number_type == "premium_rate"
    (mobile,) = _read("8 701 123 45 67", "KZ", allow_types=frozenset({"mobile"}))
    assert mobile.verdict == OK


def test_mobile_is_fine_for_kind_phone() -> None:
    (reading,) = read_numbers(
        "8 701 123 45 67", kind="phone", recipient_region="KZ", sender_region="KZ"
    )
    assert reading.verdict == OK and reading.number_type == "mobile"


def test_uan_is_refused() -> None:
    (reading,) = _read("0300 123 4567", "GB", "GB")
    assert reading.number_type == "uan" and reading.verdict == REFUSED


def test_fax_label_in_a_phone_field_warns() -> None:
    (reading,) = read_numbers(
        "fax +7 727 271 58 02", kind="phone", recipient_region="KZ", sender_region=None
    )
    assert reading.verdict == WARNING and "fax" in reading.reasons[0]


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="UK"):
        _read("+442072193000", "UK")
    with pytest.raises(ValueError, match="premium"):
        _read("+442072193000", allow_types=frozenset({"premium"}))


def test_regions() -> None:
    assert is_valid_region("KZ") and is_valid_region("kz") and is_valid_region("GB")
    assert not is_valid_region("UK") and not is_valid_region("") and not is_valid_region("001")
    assert suggest_region("uk") == "GB" and suggest_region("KZ") is None
    assert {"fixed_line", "mobile", "premium_rate", "toll_free"} <= NUMBER_TYPES


# --------------------------------------------------------------------------- duplicates, best


def test_flag_duplicates_across_recipients() -> None:
    a = _read("8 (727) 271-58-02")[0]
    b = _read("+7 727 271 58 02")[0]
    c = _read("8 (7172) 74-55-24")[0]
    a_again = _read("8 (727) 271 58 02")[0]
    flagged = flag_duplicates([("akimat", a), ("court", b), ("court", c), ("akimat", a_again)])
    assert [r.e164 for r in flagged] == [a.e164, b.e164, c.e164, a.e164]
    assert flagged[0].verdict == WARNING
    assert flagged[0].reasons == ("also listed for recipient court",)
    assert flagged[1].reasons == ("also listed for recipient akimat",)
    assert flagged[2] is c
    assert flagged[3].reasons == ("also listed for recipient court",)


def test_flag_duplicates_keeps_worse_verdicts_and_lists_all() -> None:
    premium = _read("0909 879 0000", "GB", "GB")[0]
    flagged = flag_duplicates([("a", premium), ("b", premium), ("c", premium)])
    assert [r.verdict for r in flagged] == [REFUSED] * 3
    assert flagged[0].reasons[-1] == "also listed for recipients b, c"
    invalid = _read("2715802")[0]
    assert flag_duplicates([("a", invalid), ("b", invalid)]) == (invalid, invalid)


def test_best_prefers_ok() -> None:
    warning, ok, refused = (
        _read("8 701 123 45 67")[0],
        _read("8 (727) 271-58-02")[0],
        _read("0909 879 0000", "GB", "GB")[0],
    )
    assert best([refused, warning, ok]) is ok
    assert best([refused, warning]) is warning
    assert best([refused]) is None
    assert best([]) is None


# --------------------------------------------------------------------------- properties

_SAMPLE_REGIONS = sorted(["KZ", "RU", "DE", "FR", "GB", "US", "IN", "BR", "JP", "TR", "UA", "CH"])
_regions = st.sampled_from(_SAMPLE_REGIONS)
_optional_regions = st.none() | _regions
_types = st.sampled_from(
    [phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE]
)


@settings(max_examples=60, deadline=None)
@given(region=_regions, kind=_types, recipient=_optional_regions, sender=_optional_regions)
def test_e164_reads_back_unchanged(
    region: str, kind: int, recipient: str | None, sender: str | None
) -> None:
    example = phonenumbers.example_number_for_type(region, kind)
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    reading = read_number(e164, kind="phone", recipient_region=recipient, sender_region=sender)
    assert reading.e164 == e164
    again = read_number(
        reading.e164, kind="phone", recipient_region=recipient, sender_region=sender
    )
    assert again.e164 == e164 and again.alternatives == ()


@settings(max_examples=40, deadline=None)
@given(region=_regions, kind=_types, sender=_optional_regions)
def test_national_form_reads_as_the_same_number(region: str, kind: int, sender: str | None) -> None:
    example = phonenumbers.example_number_for_type(region, kind)
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    readings = read_numbers(national, kind="phone", recipient_region=region, sender_region=sender)
    assert e164 in [r.e164 for r in readings] or e164 in readings[0].alternatives


_messy = st.text(
    alphabet=st.sampled_from(list("0123456789 +-()/.,;:#~x\nfaxtelфакстелдоб")), max_size=60
)


def _check_readings(readings: tuple[NumberReading, ...]) -> None:
    for reading in readings:
        assert reading.verdict in set(Verdict)
        assert reading.usable == (reading.e164 is not None and reading.verdict in (OK, WARNING))
        assert reading.reasons or reading.verdict == OK
        if reading.e164 is not None:
            again = read_number(reading.e164, kind="fax", recipient_region=None, sender_region=None)
            assert again.e164 == reading.e164


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=80) | _messy, recipient=_optional_regions, sender=_optional_regions)
def test_no_text_crashes(text: str, recipient: str | None, sender: str | None) -> None:
    _check_readings(
        read_numbers(text, kind="fax", recipient_region=recipient, sender_region=sender)
    )
    reading = read_number(text, kind="phone", recipient_region=recipient, sender_region=sender)
    assert isinstance(reading, NumberReading)


def test_the_campaigns_number_types_are_the_types_phonenumbers_tells() -> None:
    from faxbatch.numbers.reading import _TYPE_NAMES

    assert sorted(_TYPE_NAMES.values()) == sorted(NUMBER_TYPES)


@pytest.mark.parametrize(
    ("field", "written"),
    [
        ("++7727 2715802", ["++7727 2715802"]),
        ("fax: ++7 (7172) 74 55 24", ["fax: ++7 (7172) 74 55 24"]),
        ("2715807/", ["2715807/"]),
        ("8 (727) 271-58-02, 58-03", ["8 (727) 271-58-02", "58-03"]),
        ("tel 8 727 2715802; fax 8 727 2715803", ["8 727 2715802", "8 727 2715803"]),
    ],
)
def test_a_number_keeps_its_text_as_written(field: str, written: list[str]) -> None:
    readings = read_numbers(field, kind="fax", recipient_region="KZ", sender_region="US")
    assert [r.written for r in readings] == written
    # the reading itself is of the tidied text: ``++`` read as one plus
    assert readings[0].raw != "" and not readings[0].raw.startswith("++")
