"""Tests of faxbatch.letters.labels: every catalog complete, dates as each language writes them."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import fields
from importlib import resources

import pytest

from faxbatch.letters.fonts import Style, typeface
from faxbatch.letters.labels import (
    CATALOG_LANGUAGES,
    Labels,
    format_date,
    has_catalog,
    label_text,
    labels,
)

DAY = dt.date(2012, 5, 10)


@pytest.mark.parametrize("language", CATALOG_LANGUAGES)
def test_every_catalog_has_every_label_and_its_placeholders(language: str) -> None:
    found = labels(language)
    english = labels("en")
    for item in fields(Labels):
        value, model = getattr(found, item.name), getattr(english, item.name)
        assert value.strip(), item.name
        # the same {placeholders} as the English label, each once
        assert sorted(_placeholders(value)) == sorted(_placeholders(model)), item.name


@pytest.mark.parametrize("language", CATALOG_LANGUAGES)
def test_the_fonts_draw_every_label(language: str) -> None:
    faces = typeface()
    text = label_text(language) + format_date(DAY, language)
    for style in (Style.REGULAR, Style.BOLD):
        assert [c for c in text if not faces[style].has(c) and not c.isspace()] == []


def test_catalog_files_are_the_languages_listed() -> None:
    folder = resources.files("faxbatch.letters") / "catalogs"
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".json"))
    assert names == sorted(f"{code}.json" for code in CATALOG_LANGUAGES)
    for name in names:
        json.loads((folder / name).read_text("utf-8"))


@pytest.mark.parametrize(
    ("language", "written"),
    [
        ("en", "10 May 2012"),
        ("ru", "10 мая 2012\u202fг."),
        ("de", "10. Mai 2012"),
        ("fr", "10 mai 2012"),
        ("es", "10 de mayo de 2012"),
        ("kk", "2012\u202fж. 10 мамыр"),
    ],
)
def test_dates_are_written_the_way_the_language_writes_them(language: str, written: str) -> None:
    assert format_date(DAY, language) == written


def test_a_language_without_a_catalog_gets_english_labels() -> None:
    assert not has_catalog("it")
    assert labels("it") == labels("en")
    assert has_catalog("de-AT") and labels("de-AT") == labels("de")
    assert format_date(DAY, "it") == "10 maggio 2012"  # Babel knows the date all the same


def test_russian_labels_read_as_russian() -> None:
    ru = labels("ru")
    assert (ru.fax_title, ru.date, ru.to, ru.sender) == ("ФАКС", "Дата", "Кому", "От кого")
    assert ru.page(2, 4) == "Страница 2 из 4"
    assert ru.pages_value.format(count=3) == "3 (включая этот титульный лист)"


def _placeholders(text: str) -> list[str]:
    import re

    return re.findall(r"\{(\w+)\}", text)


@pytest.mark.parametrize("language", CATALOG_LANGUAGES)
def test_the_cover_labels_fit_their_column(language: str) -> None:
    from faxbatch.letters.document import COVER_LABEL
    from faxbatch.letters.layout import MM

    found = labels(language)
    bold = typeface()[Style.BOLD]
    for name in ("date", "pages", "to", "organization", "fax", "phone", "sender", "email",
                 "regarding", "reference"):  # fmt: skip
        assert bold.width(getattr(found, name), COVER_LABEL) < 38 * MM, name
