"""The words the layout itself prints, in the language of each letter, and its dates.

Every label of a cover sheet and a letter ("FAX", "Date", "Pages", "To", "By fax:", "Page 2 of 3",
...) comes from a catalog per language shipped with the package (``catalogs/<code>.json``); a
language without a catalog gets the English labels (and the build says so). Dates are written the
way the language writes them, from CLDR's data through Babel: "10 мая 2012 г.", "10. Mai 2012".
English keeps the day-month-year form faxbatch has always printed ("10 May 2012"), which reads
the same in every English-speaking country.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, fields
from functools import cache
from importlib import resources

__all__ = [
    "CATALOG_LANGUAGES",
    "Labels",
    "country_name_in",
    "format_date",
    "has_catalog",
    "label_text",
    "labels",
    "plural_category",
]

#: the languages faxbatch ships labels for
CATALOG_LANGUAGES = ("en", "ru", "kk", "de", "fr", "es")


@dataclass(frozen=True)
class Labels:
    """One language's labels; ``{placeholders}`` are filled by the layout."""

    fax_title: str  # the cover sheet's big heading
    urgent: str
    date: str
    pages: str
    pages_value: str  # "{count} (including this cover sheet)"
    to: str
    organization: str
    fax: str
    phone: str
    sender: str  # "From"
    email: str
    regarding: str
    reference: str
    reference_line: str  # "Reference: {reference}", under the letter's subject
    comments: str
    by_fax: str  # "By fax: {fax}", under the recipient's address
    page_of: str  # "Page {number} of {total}"
    signatories: str  # the annex's heading
    signatories_continued: str  # on the annex's next pages
    #: "and {count} organizations and individuals listed in the annex", by CLDR plural category
    signers_one: str
    signers_few: str
    signers_many: str
    signers_other: str
    no_country: str  # the annex's group of signers who give no country
    copies_to: str  # the cover sheet's "Copies to"
    cc: str  # "cc:" at the end of the letter
    also_sent_to: str  # "This letter was also sent to:"

    def page(self, number: int, total: int) -> str:
        """The footer of page ``number`` of ``total``."""
        return self.page_of.format(number=number, total=total)

    def signers(self, count: int, language: str) -> str:
        """The annex's count under the signature, in the plural form ``count`` takes.

        "and 312 organizations and individuals listed in the annex"; Russian has three forms
        (подписант, подписанта, подписантов).
        """
        form = plural_category(count, language)
        text = getattr(self, f"signers_{form}", self.signers_other)
        return str(text).format(count=count)


def _base(language: str) -> str:
    """``de`` for ``de-AT`` or ``de_at``."""
    return language.replace("_", "-").split("-")[0].lower()


def has_catalog(language: str) -> bool:
    """Whether faxbatch ships labels for ``language``."""
    return _base(language) in CATALOG_LANGUAGES


@cache
def labels(language: str) -> Labels:
    """The labels of ``language`` (English for a language without a catalog)."""
    code = _base(language) if has_catalog(language) else "en"
    text = (resources.files("faxbatch.letters") / "catalogs" / f"{code}.json").read_text("utf-8")
    data = json.loads(text)
    names = {f.name for f in fields(Labels)}
    values = {("sender" if key == "from" else key): value for key, value in data.items()}
    if set(values) != names:  # pragma: no cover - the catalogs are tested
        raise ValueError(f"the {code} label catalog does not match the labels the layout needs")
    return Labels(**values)


#: the labels only a letter with signatories, copies or "also sent to" prints
SIGNING_LABELS = frozenset(
    {
        "signatories",
        "signatories_continued",
        "signers_one",
        "signers_few",
        "signers_many",
        "signers_other",
        "no_country",
        "copies_to",
        "cc",
        "also_sent_to",
    }
)


def label_text(language: str, signing: bool = True) -> str:
    """Every label of ``language`` in one string (what the font subsets must hold).

    ``signing=False`` leaves out :data:`SIGNING_LABELS` (a batch that prints none of them keeps
    the font subsets it always had).
    """
    found = labels(language)
    names = [f.name for f in fields(Labels) if signing or f.name not in SIGNING_LABELS]
    text = " ".join(getattr(found, name) for name in names)
    return re.sub(r"\{\w+\}", "", text)  # placeholders are filled with digits and campaign text


@cache
def country_name(country: str, in_country: str | None) -> str:
    """The name of ``country`` (ISO code) in the main language of ``in_country``, from CLDR.

    ``country_name("KZ", "DE")`` is "Kasachstan", ``country_name("KZ", "US")`` "Kazakhstan": the
    destination line of a letter posted abroad is written in the sending country's language.
    English when that language is not known.
    """
    from babel.core import Locale, UnknownLocaleError
    from babel.languages import get_official_languages

    spoken = get_official_languages(in_country, de_facto=True) if in_country else ()
    for language in (*spoken, "en"):
        try:  # a language's names are the same in every country; its own locale is enough
            name = Locale.parse(language).territories.get(country)
        except (UnknownLocaleError, ValueError):
            continue
        if name:
            return str(name)
    return country


@cache
def plural_category(count: int, language: str) -> str:
    """CLDR's plural category of ``count`` in ``language``: one, few, many or other."""
    from babel.core import Locale, UnknownLocaleError

    try:
        form = str(Locale.parse(_base(language)).plural_form(count))
    except (UnknownLocaleError, ValueError):
        form = "one" if count == 1 else "other"
    return form if form in ("one", "few", "many") else "other"


@cache
def country_name_in(country: str, language: str) -> str:
    """The name of ``country`` (ISO code) in ``language``, from CLDR (English when unknown)."""
    from babel.core import Locale, UnknownLocaleError

    for code in (language.replace("-", "_"), _base(language), "en"):
        try:
            name = Locale.parse(code).territories.get(country)
        except (UnknownLocaleError, ValueError):
            continue
        if name:
            return str(name)
    return country


@cache
def format_date(day: dt.date, language: str = "en") -> str:
    """The date as a letter in ``language`` writes it: ``10 May 2012``, ``10 мая 2012 г.``."""
    if _base(language) == "en":
        return f"{day.day} {day:%B %Y}"
    from babel.core import Locale, UnknownLocaleError
    from babel.dates import format_date as cldr_date

    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return f"{day.day} {day:%B %Y}"
    return str(cldr_date(day, format="long", locale=locale))
