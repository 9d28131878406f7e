"""Call scripts: shipped as data, one per language, names put in as text, Latin for Cyrillic."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from faxbatch.numbers.scripts import SCRIPT_LANGUAGES, call_scripts, transliterate

CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_KEYS = {"language", "name", "lines", "latin", "letters", "also"}


def _data(code: str) -> dict[str, object]:
    folder = resources.files("faxbatch.numbers") / "call_scripts"
    data: dict[str, object] = json.loads((folder / f"{code}.json").read_text("utf-8"))
    return data


def test_the_languages_the_issue_asks_for_are_shipped() -> None:
    assert {"ru", "kk", "en", "de", "fr", "es"} <= set(SCRIPT_LANGUAGES)


@pytest.mark.parametrize("code", SCRIPT_LANGUAGES)
def test_each_script_is_well_formed(code: str) -> None:
    data = _data(code)
    assert set(data) <= _KEYS and data["language"] == code
    lines = data["lines"]
    assert isinstance(lines, list) and 2 <= len(lines) <= 3
    text = " ".join(lines)
    # asks whether this is the office's fax, and names the recipient of the letter
    assert text.count("{office}") == 1 and text.count("{recipient}") == 1
    assert set(re.findall(r"\{(\w+)\}", text)) == {"office", "recipient"}
    if CYRILLIC.search(text):
        latin = data["latin"]
        assert isinstance(latin, list) and len(latin) == len(lines)
        for line, read in zip(lines, latin, strict=True):
            assert not CYRILLIC.search(read)
            assert re.findall(r"\{\w+\}", line) == re.findall(r"\{\w+\}", read)
        letters = data["letters"]
        assert isinstance(letters, dict)
        # every letter the lines use is in the table, and spelt in Latin letters
        assert set(re.findall(r"[\u0400-\u04ff]", text.lower())) <= set(letters)
        assert all(re.fullmatch(r"[a-z]*", v) for v in letters.values())
    else:
        assert "latin" not in data
    for other in data.get("also", []):  # type: ignore[attr-defined]
        assert other in SCRIPT_LANGUAGES


def test_names_are_put_in_as_text_never_as_a_format_string() -> None:
    (script,) = call_scripts("en", "{recipient} {0} Court", "Judge {office}")
    assert script.lines[0] == "Hello, is this the fax number of {recipient} {0} Court?"
    assert "Judge {office}" in script.lines[1]


def test_a_russian_office_gets_russian_with_a_latin_reading() -> None:
    (script,) = call_scripts("ru", "Алматинский городской суд", "Председатель суда")
    assert script.name == "Русский" and script.instead_of == ""
    assert script.lines[0] == (
        "Здравствуйте! Подскажите, пожалуйста: это номер факса организации "
        "«Алматинский городской суд»?"
    )
    assert script.latin[0] == (
        "Zdravstvuyte! Podskazhite, pozhaluysta: eto nomer faksa organizatsii "
        "«Almatinskiy gorodskoy sud»?"
    )
    assert script.latin[1].endswith("Adresat: Predsedatel suda.")


def test_a_kazakh_office_gets_kazakh_then_russian_with_kazakh_letters_read() -> None:
    kazakh, russian = call_scripts("kk", "Астана қаласының әкімдігі", "Әкім")
    assert (kazakh.language, russian.language) == ("kk", "ru")
    assert "ұйымының факс нөмірі ме?" in kazakh.lines[0]
    assert "«Astana qalasynyng akimdigi»" in kazakh.latin[0]
    # the Russian lines keep the Kazakh name, and its reading spells the Kazakh letters too
    assert "«Астана қаласының әкімдігі»" in russian.lines[0]
    assert "«Astana qalasynyng akimdigi»" in russian.latin[0]
    assert russian.latin[1].endswith("Adresat: Akim.")


def test_a_language_code_with_a_region_and_one_without_a_script() -> None:
    (german,) = call_scripts("de-AT", "Bezirksgericht", "Richterin")
    assert german.language == "de" and german.lines[0].startswith("Guten Tag!")
    (fallback,) = call_scripts("tr", "Mahkeme", "Hakim")
    assert fallback.language == "en" and fallback.instead_of == "tr"


def test_an_english_script_spells_a_cyrillic_name_in_latin_letters() -> None:
    (script,) = call_scripts("en", "Министерство юстиции", "Министр")
    assert script.lines[0].endswith("Министерство юстиции?")
    assert script.latin[0] == "Hello, is this the fax number of Ministerstvo yustitsii?"
    (plain,) = call_scripts("en", "Ministry of Justice", "Minister")
    assert plain.latin == ()


def test_transliteration_keeps_capitals_and_other_characters() -> None:
    assert transliterate("Щука-Ёж 12!", {"щ": "shch", "у": "u", "к": "k", "а": "a", "ё": "yo"}) == (
        "Shchuka-Yoж 12!"
    )
