"""The campaign as faxbatch understands it: typed, validated, immutable values.

:func:`faxbatch.campaign.loader.load_campaign` builds these from a YAML file; everything after it
works on them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

PageSize = Literal["A4", "Letter"]

#: The window envelopes postal letters may be printed for (see :mod:`faxbatch.letters.envelopes`).
Envelope = Literal["DL", "C5", "us10"]
Din5008Form = Literal["A", "B"]
ENVELOPES: tuple[Envelope, ...] = ("DL", "C5", "us10")
DIN5008_FORMS: tuple[Din5008Form, ...] = ("A", "B")
#: the form used on A4 when the campaign names none: form B leaves room for a letterhead
DEFAULT_DIN5008: Din5008Form = "B"

#: Every type a number can be judged to be (``allow_number_types`` takes these names); the
#: numbers stage maps phonenumbers' types onto them.
NUMBER_TYPES: frozenset[str] = frozenset(
    {
        "fixed_line",
        "mobile",
        "fixed_line_or_mobile",
        "toll_free",
        "premium_rate",
        "shared_cost",
        "voip",
        "personal_number",
        "pager",
        "uan",
        "voicemail",
    }
)

#: Recipient fields that letter texts may use as ``{placeholder}``.
PLACEHOLDERS = ("id", "name", "title", "organization", "country")

#: Weekday names as the campaign file writes them, in ``datetime.weekday()`` order (Monday is 0).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def envelope_problem(page_size: str, envelope: str, din5008: str | None = None) -> str | None:
    """Why ``envelope`` (and DIN 5008 form ``din5008``) cannot take ``page_size`` sheets, or None.

    ``din5008`` (``A`` or ``B``) chooses the DIN 5008 form on A4 and must be left out for ``us10``.
    """
    if page_size not in get_args(PageSize):
        return f"unknown page size {page_size!r}; use A4 or Letter"
    if envelope not in ENVELOPES:
        return f"unknown envelope {envelope!r}; use DL or C5 (A4 sheets) or us10 (Letter)"
    if envelope == "us10":
        if page_size != "Letter":
            return (
                "envelope us10 takes Letter sheets; set the page size to Letter, "
                "or use a DL or C5 envelope for A4"
            )
        if din5008 is not None:
            return "din5008 applies to A4 letters in DL or C5 envelopes; leave it out with us10"
        return None
    if page_size != "A4":
        return (
            f"envelope {envelope} takes A4 sheets laid out after DIN 5008; set the page size to "
            "A4, or use a us10 envelope for Letter"
        )
    if din5008 is not None and din5008 not in DIN5008_FORMS:
        return f"unknown DIN 5008 form {din5008!r}; use A or B"
    return None


@dataclass(frozen=True)
class Sender:
    """Who sends the letters."""

    name: str
    organization: str = ""
    address: tuple[str, ...] = ()
    phone: str = ""
    fax: str = ""
    email: str = ""
    country: str | None = None
    #: the short return address above a postal letter's window (default: made from the above)
    return_line: str = ""


@dataclass(frozen=True)
class Letter:
    """The letter every recipient gets; texts may hold ``{placeholders}``."""

    subject: str
    body: str
    greeting: str = "Dear {name},"
    closing: str = "Sincerely,"
    signature: tuple[str, ...] = ()
    #: the language it is written in (a code such as ``en``, ``ru``, ``kk``, ``de``): the labels
    #: and the date of its pages follow it
    language: str = "en"
    #: print "This letter was also sent to: ..." with the other recipients' organizations
    also_sent_to: bool = False


@dataclass(frozen=True)
class Translation:
    """The letter in another language (``translations:``), and its cover sheet's comments."""

    letter: Letter
    cover_comments: str = ""


#: how signatories sign: all of them in an annex of one letter, or each a letter of their own
SignatoriesMode = Literal["annex", "per_signer"]
SIGNATORIES_MODES: tuple[SignatoriesMode, ...] = ("annex", "per_signer")


@dataclass(frozen=True)
class Signatories:
    """The campaign's ``signatories:``: who signs, from a CSV file read row by row."""

    file: Path
    mode: SignatoriesMode = "annex"


@dataclass(frozen=True)
class CopyTo:
    """Someone who gets a copy of every letter (``copies_to:``): the organizers, most often."""

    name: str
    email: str


@dataclass(frozen=True)
class Cover:
    """What the fax cover sheet adds to the letter."""

    comments: str = ""
    urgent: bool = False


@dataclass(frozen=True)
class PrintSettings:
    """How print volumes and postal letters are made (the campaign's ``print:`` section)."""

    #: the window envelope postal letters go in: DL or C5 (A4, DIN 5008), us10 (Letter)
    envelope: str | None = None
    din5008: str | None = None  # A or B, A4 only (default B)
    fold_marks: bool = True
    #: post volumes print on both sides, each letter starting on a front; fax volumes never pad
    duplex: bool = True
    max_pages_per_volume: int = 500
    max_bytes_per_volume: int = 5_000_000  # fits common upload limits (5 MB)


@dataclass(frozen=True)
class OfficeHours:
    """When offices take faxes: the same hours on each listed weekday, in the office's own time."""

    days: tuple[int, ...] = (0, 1, 2, 3, 4)  # datetime.weekday() numbers: Monday to Friday
    start: dt.time = dt.time(9)
    end: dt.time = dt.time(18)
    #: several spans a day (a lunch break between them); empty: ``start`` to ``end``
    spans: tuple[tuple[dt.time, dt.time], ...] = ()
    #: whether the public holidays of the office's country (``holidays`` package) are closed
    holidays: bool = True

    @property
    def day_spans(self) -> tuple[tuple[dt.time, dt.time], ...]:
        """The spans of one office day, in order."""
        return self.spans or ((self.start, self.end),)

    def describe(self) -> str:
        """``Mon–Fri 09:00–18:00``, for people (``Sun–Thu 09:00–13:00, 14:00–18:00``)."""
        return _described(self)


@lru_cache(maxsize=256)  # every row of the sheet names its office's hours, twice
def _described(hours: OfficeHours) -> str:
    names = [WEEKDAYS[day].capitalize() for day in hours.days]
    consecutive = list(hours.days) == list(range(hours.days[0], hours.days[-1] + 1))
    if hours.days == (0, 1, 2, 3, 6):
        names, consecutive = ["Sun", "Mon", "Tue", "Wed", "Thu"], True
    days = f"{names[0]}–{names[-1]}" if consecutive and len(names) > 2 else ", ".join(names)
    spans = ", ".join(f"{start:%H:%M}–{end:%H:%M}" for start, end in hours.day_spans)
    return f"{days} {spans}" + ("" if hours.holidays else " (holidays too)")


@dataclass(frozen=True)
class Recipient:
    """One office or person the letter goes to."""

    id: str
    name: str
    title: str = ""
    organization: str = ""
    address: tuple[str, ...] = ()
    country: str | None = None
    fax: str = ""
    phone: str = ""
    #: number types (``numbers.NUMBER_TYPES``) this recipient may be faxed on although they cost
    allow_number_types: tuple[str, ...] = ()
    #: what the recipient asks for: ("fax",) by default; ("post",) or ("fax", "post")
    channels: tuple[str, ...] = ("fax",)
    #: position among the campaign's recipients (0-based) and the line it starts on
    index: int = 0
    line: int | None = None
    #: the recipients file the row comes from (None: the campaign file's ``recipients`` list)
    source: str | None = None
    #: what is wrong with the entry itself (a row of a recipients file that cannot be used)
    problems: tuple[str, ...] = ()
    #: the office's own hours (``office_hours`` on the recipient); None: the campaign's
    office_hours: OfficeHours | None = None
    #: the recipients file's own columns (``case_number``) and this recipient's cells of them
    fields: tuple[tuple[str, str], ...] = ()
    #: the language of this recipient's letter and cover (empty: the campaign's first language)
    language: str = ""
    #: with ``languages: [en, ru]``: the letter in each, one after the other (``language`` is the
    #: first, the cover sheet's)
    languages: tuple[str, ...] = ()
    #: the letter's greeting and the cover's comments for this recipient alone (empty: the letter's)
    greeting: str = ""
    cover_comments: str = ""
    #: with ``signatories`` per signer: only the letters of signers in these countries (ISO codes)
    signers_from: tuple[str, ...] = ()

    @property
    def field_path(self) -> str:
        """The recipient's place in the campaign, for messages."""
        if self.source:
            return f"{self.source}:{self.line}"
        return f"recipients[{self.index}]"

    def field(self, name: str) -> str:
        """Where a field of the recipient is: ``recipients[3].fax`` or ``offices.csv:12 fax``."""
        if self.source:
            return f"{self.source}:{self.line} {name}"
        return f"recipients[{self.index}].{name}"

    @property
    def display_name(self) -> str:
        """The name to show; falls back to the organization."""
        return self.name or self.organization

    def placeholder_values(self) -> dict[str, str]:
        """Values for ``{placeholders}`` in letter texts (the recipients file's own columns too)."""
        return dict(self.fields) | {
            "id": self.id,
            "name": self.display_name,
            "title": self.title,
            "organization": self.organization,
            "country": self.country or "",
        }


@dataclass(frozen=True)
class Enclosure:
    """A PDF appended to every letter (``enclosures:``), as checked when the campaign was read.

    ``name`` is the path as written (relative to the campaign file); ``sha256`` the digest of the
    bytes checked, so that a file changed before the build is noticed (and rebuilds the letters).
    """

    name: str
    sha256: str
    #: each page's width and height in points
    sizes: tuple[tuple[float, float], ...]

    @property
    def pages(self) -> int:
        """How many pages the enclosure adds to every letter."""
        return len(self.sizes)


@dataclass(frozen=True)
class Campaign:
    """A validated campaign file."""

    source: Path
    title: str
    sender: Sender
    letter: Letter
    #: recipients listed in the campaign file itself
    recipients: tuple[Recipient, ...]
    reference: str = ""
    #: more recipients, in a CSV file read row by row (see ``campaign.iter_recipients``)
    recipients_file: Path | None = None
    date: dt.date | None = None
    #: ``campaign.deadline``: no fax is handed over after it (a date: the end of that day where
    #: the recipient is; a date-time has its zone)
    deadline: dt.date | dt.datetime | None = None
    default_country: str | None = None
    page_size: PageSize = "A4"
    cover: Cover = field(default_factory=Cover)
    printing: PrintSettings = field(default_factory=PrintSettings)
    #: the ``gateway:`` section as written (checked by ``gateways.settings``; no passwords)
    gateway: dict[str, Any] | None = None
    office_hours: OfficeHours = field(default_factory=OfficeHours)
    #: a volunteer's "verified" older than this many days is stale: check the number again
    verification_max_age_days: int = 90
    #: the folders the campaign's files may be read from, symlinks resolved: the campaign file's
    #: own folder and each ``--allow-path`` (empty: the campaign file's folder; see ``inputs``)
    input_folders: tuple[Path, ...] = ()
    #: the line of each field path, for messages about values found valid here but wrong later
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    #: the letter in other languages, by language code (the first language is ``letter``'s)
    translations: dict[str, Translation] = field(default_factory=dict)
    #: what reading the campaign noticed without stopping (a translation missing a field, ...)
    warnings: tuple[str, ...] = ()
    #: PDFs whose pages follow every letter, fax and post (``enclosures:``)
    enclosures: tuple[Enclosure, ...] = ()
    #: who signs the letter (``signatories:``; None: the sender alone)
    signatories: Signatories | None = None
    #: who gets a copy of every letter: listed on the cover and in the letter's "cc:" block
    copies_to: tuple[CopyTo, ...] = ()
    #: the recipients file's own columns (not recipient keys): every recipient's ``fields``
    fields: tuple[str, ...] = ()

    @property
    def languages(self) -> tuple[str, ...]:
        """Every language the campaign's letter is written in, the first one first."""
        return (self.letter.language, *self.translations)

    def language_of(self, recipient: Recipient) -> str:
        """The language of the recipient's letter (the first, when it gets several)."""
        return recipient.language or self.letter.language

    def languages_of(self, recipient: Recipient) -> tuple[str, ...]:
        """Every language the recipient's letter comes in, the cover sheet's first."""
        return recipient.languages or (self.language_of(recipient),)

    def in_language(self, language: str) -> Campaign:
        """The campaign with its letter and cover comments in ``language`` (one it has)."""
        if language == self.letter.language:
            return self
        translation = self.translations[language]
        cover = replace(self.cover, comments=translation.cover_comments)
        return replace(self, letter=translation.letter, cover=cover)

    def where(self, field_path: str) -> str:
        """``file:line: field`` for a field path, as far as it is known."""
        line = self.lines.get(field_path)
        location = f"{self.source}:{line}" if line else str(self.source)
        return f"{location}: {field_path}"

    def recipient_country(self, recipient: Recipient) -> str | None:
        """The country that reads the recipient's national number forms."""
        return recipient.country or self.default_country
