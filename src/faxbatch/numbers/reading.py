"""Read fax and phone numbers as campaign organizers write them, and judge them.

A field such as ``fax 8 (727) 271-58-02/03; tel 271-58-07`` is split into candidates; each is read
with the recipient's country (national forms like ``8 (727) …``) and the sender's country
(international prefixes like ``00`` or ``011``), and judged: ``ok`` and ``warning`` readings can be
dialled, ``refused`` and ``invalid`` ones cannot. Every judgement carries its reasons in plain
English, for the manifest and for the organizer.

The module is pure (no I/O, no printing). phonenumbers loads its metadata lazily on first use, so
importing this module is cheap.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Literal

import phonenumbers
from phonenumbers import (
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    PhoneNumberFormat,
    PhoneNumberType,
    ValidationResult,
)

from faxbatch.campaign.model import NUMBER_TYPES
from faxbatch.numbers.places import place

__all__ = [
    "NUMBER_TYPES",
    "Kind",
    "NumberOwners",
    "NumberReading",
    "Verdict",
    "area_code_from",
    "best",
    "flag_duplicates",
    "is_valid_region",
    "read_number",
    "read_numbers",
    "rounded_by_spreadsheet",
    "suggest_region",
]


class Verdict(StrEnum):
    """How usable a number is; ``ok`` and ``warning`` may be dialled."""

    OK = "ok"
    WARNING = "warning"
    REFUSED = "refused"
    INVALID = "invalid"


Kind = Literal["fax", "phone"]

_SEVERITY = {Verdict.OK: 0, Verdict.WARNING: 1, Verdict.REFUSED: 2, Verdict.INVALID: 3}

_TYPE_NAMES: dict[int, str] = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}

# NUMBER_TYPES (the campaign's names for the types) are the values of _TYPE_NAMES, each once

# Types tied to a place, for which "a number in RU, but the recipient is in KZ" makes sense.
_GEOGRAPHIC = frozenset({"fixed_line", "mobile", "fixed_line_or_mobile"})
# Types that cost money on every try: refused unless the recipient allows them explicitly.
_COSTLY = {
    "premium_rate": "premium-rate: every try costs money",
    "shared_cost": "shared-cost: every try costs money",
    "uan": "a universal access number (UAN): often charged at a premium rate",
}
_UNREACHABLE = {
    "pager": "a pager number: it cannot take a call",
    "voicemail": "a voicemail number: it cannot take a fax or a call",
}

_NO_AREA = "has no area code"
_AREA_FORM = re.compile(r"^has no area code: .*\+(\d+) <city code> (\d+)$")

# Country codes people write that are not ISO 3166 alpha-2.
_REGION_MISTAKES = {"UK": "GB", "EL": "GR"}

# International prefixes tried when the writer's country is unknown or dials differently.
_FALLBACK_IDD = re.compile(r"^\s*(?:00|011|8\s*[~-]?\s*10)(?=[\s(]*\d)")

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63"), "-")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)

_EMPTY_FIELD = re.compile(r"^\s*(?:n/?a|none|nil|null|нет|unknown|-+|\?+)\s*$", re.IGNORECASE)

_LABELS: tuple[tuple[str, str], ...] = (
    # (pattern, canonical label); longer patterns first.
    (
        r"(?:tel(?:ephone|efon)?|phone|ph|тел(?:ефон)?)\.?\s*(?:/|&|\+|-|and|und|и)\s*"
        r"(?:tele)?fax",
        "tel/fax",
    ),
    (r"(?:тел(?:ефон)?)\.?\s*(?:/|&|\+|-|и)\s*факс|т\.?\s*/\s*ф", "tel/fax"),
    (r"telefax|facsimile|fax|fx|телефакс|факс", "fax"),
    (r"mobile|mobil|mob|cell(?:phone)?|handy|моб(?:ильный)?|сот(?:овый)?", "mobile"),
    (r"telephone|telefon|téléphone|tél|tel|phone|ph|tlf|tfn|телефон|тел", "tel"),
)
_LABEL_RE = "|".join(f"(?:{pattern})" for pattern, _ in _LABELS)
_LETTER = r"[^\W\d_]"
_NOT_AFTER_LETTER = r"(?<![^\W\d_])"
_NOT_BEFORE_LETTER = r"(?![^\W\d_])"
_NUMBER_PAREN = r"\((?=[\d \t.\-+]*\))"

_EXTENSION_RE = rf"""
    (?:;\s*ext\s*=
      |{_NOT_AFTER_LETTER}
       (?:extension|ext|x|доб(?:авочный)?|вн(?:утр(?:енний)?)?|durchwahl|poste)
       {_NOT_BEFORE_LETTER}\.?\s*[:.]?
      |\#)
    \s*(?P<ext_digits>\d{{1,6}})(?!\d)
"""
_EXTENSION = re.compile(_EXTENSION_RE, re.IGNORECASE | re.VERBOSE)

_TOKEN = re.compile(
    rf"""
      (?P<paren>\((?=[^()]*{_LETTER})[^()]*\))
    | (?P<ext>{_EXTENSION_RE})
    | (?P<label>{_NOT_AFTER_LETTER}(?:{_LABEL_RE}){_NOT_BEFORE_LETTER}\.?
          (?:\s*(?:no|nr|num|number|номер)\b\.?)?(?:\s*:|\s*-(?!\d))?)
    | (?P<short_label>{_NOT_AFTER_LETTER}[ftфт]\s*[:.])
    | (?P<filler>{_NOT_AFTER_LETTER}(?:no|nr|num|number|номер|n°)\.?{_NOT_BEFORE_LETTER}[:.]?)
    | (?P<sep>[;,|\n\r&]|{_NOT_AFTER_LETTER}(?:or|and|oder|und|ou|et|или|и){_NOT_BEFORE_LETTER})
    | (?P<slash>/)
    | (?P<num>(?:\+|\d|{_NUMBER_PAREN})(?:[\d \t.\-~+)]|{_NUMBER_PAREN})*)
    | (?P<word>(?P<letters>{_LETTER}+)(?P<colon>\s*:)?)
    | (?P<other>\S)
    """,
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True)
class NumberReading:
    """One number of a field, read and judged.

    ``raw`` is the candidate's text, without its label, extension and remarks. ``e164``,
    ``international``, ``national``, ``region``, ``location`` and ``dial_string`` are set only
    for valid numbers. ``dial_string`` is what a line in the sender's country dials (the E.164
    form when the sender's country is unknown). ``alternatives`` holds, when the text is
    ambiguous, every valid reading's E.164 form, the chosen one first. ``label`` is ``"fax"``,
    ``"tel"``, ``"tel/fax"``, ``"mobile"`` or the lowercased words the field put before the
    number ("приёмная: …").
    """

    raw: str
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    label: str | None = None
    e164: str | None = None
    #: the number exactly as the field gives it (``++7727 2715802``; the whole field when it
    #: holds one number), for people comparing with their source; ``raw`` is tidied
    written: str = ""
    international: str | None = None
    national: str | None = None
    extension: str | None = None
    valid: bool = False
    possible: bool = False
    number_type: str | None = None
    region: str | None = None
    location: str | None = None
    time_zones: tuple[str, ...] = ()
    dial_string: str | None = None
    alternatives: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        """Whether the number may be dialled (verdict ``ok`` or ``warning``)."""
        return self.verdict in (Verdict.OK, Verdict.WARNING)


# --------------------------------------------------------------------------- splitting a field


@dataclass
class _Segment:
    """One number of a field in the making, as spans of the field's text."""

    label: str | None = None
    label_explicit: bool = False
    parts: list[list[tuple[int, int]]] = field(default_factory=lambda: [[]])  # split at "/"
    extension: str | None = None
    words: list[tuple[int, int]] = field(default_factory=list)  # words before any digit
    trailing: list[tuple[int, int]] = field(default_factory=list)  # words after the digits

    def has_number(self) -> bool:
        return any(self.parts)

    def parts_text(self, text: str) -> list[str]:
        """Each part's text; pieces that touch in the field stay together, others get a space."""
        result = []
        for spans in self.parts:
            joined = ""
            end = None
            for start, stop in spans:
                joined += ("" if start == end else " ") + text[start:stop]
                end = stop
            result.append(_tidy(joined))
        return result

    def span_text(self, text: str) -> str:
        """The field's text from the segment's first digit to its last, exactly as written."""
        spans = [span for part in self.parts for span in part]
        return text[spans[0][0] : spans[-1][1]].strip() if spans else ""


@dataclass(frozen=True)
class _Candidate:
    text: str
    label: str | None
    extension: str | None
    note: str | None = None
    note_warns: bool = False
    written: str = ""  # the candidate's text in the field, before any tidying


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_DASHES).translate(_INVISIBLE)
    return text


def _tidy(text: str) -> str:
    """Strip the junk around one number: trailing dots and dashes, a doubled plus."""
    text = re.sub(r"\s+", " ", text).lstrip(" .~:)").rstrip(" .-~:(")
    return re.sub(r"^\+[+ ]*", "+", text)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _has_letters(text: str) -> bool:
    return re.search(_LETTER, text) is not None


def _canonical_label(text: str) -> str:
    for pattern, name in _LABELS:
        if re.match(rf"(?:{pattern})", text, re.IGNORECASE):
            return name
    return text.lower()


def _segments(text: str) -> list[_Segment]:
    """Cut a field into segments: one per number, a slash-separated group counting as one."""
    segments: list[_Segment] = []
    sticky: str | None = None  # a label before numbers holds until the next label
    current = _Segment()

    def close(label: str | None, *, explicit: bool = False) -> _Segment:
        if not current.has_number() and current.words:
            current.parts = [list(current.words)]  # only words: judged, and found wanting
        if current.has_number():
            segments.append(current)
        return _Segment(label=label, label_explicit=explicit)

    def previous() -> _Segment | None:
        if current.has_number():
            return current
        return segments[-1] if segments else None

    def take_extension(digits: str, span: tuple[int, int], *, after_comma: bool) -> _Segment:
        # "…, доб. 12" belongs to the number before the comma; "#12" only to a number just read.
        target = current if current.has_number() else None
        if target is None and after_comma and segments:
            target = segments[-1]
        if target is None:
            current.parts[-1].append(span)
            return current
        if target.extension is None:
            target.extension = digits
        return close(sticky)

    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        token = match.group()
        if kind == "label":
            sticky = _canonical_label(token.strip())
            current = close(sticky, explicit=True)
        elif kind == "short_label":
            sticky = "fax" if token[0].lower() in "fф" else "tel"
            current = close(sticky, explicit=True)
        elif kind == "paren":
            inner = token[1:-1].strip()
            extension = _EXTENSION.fullmatch(inner)
            if extension:
                start = match.start() + 1 + token[1:].index(extension.group("ext_digits"))
                span = (start, start + len(extension.group("ext_digits")))
                current = take_extension(extension.group("ext_digits"), span, after_comma=True)
            elif re.fullmatch(rf"(?:{_LABEL_RE})[.:]?", inner, re.IGNORECASE):
                target = previous()
                if target is None:
                    sticky = _canonical_label(inner)
                    current.label, current.label_explicit = sticky, True
                elif not target.label_explicit:
                    target.label, target.label_explicit = _canonical_label(inner), True
            # Any other remark in parentheses ("приёмная", "reception") is not part of a number.
        elif kind == "ext":
            current = take_extension(
                match.group("ext_digits"),
                match.span("ext_digits"),
                after_comma=not token.startswith("#"),
            )
        elif kind == "sep":
            current = close(sticky)
        elif kind == "slash":
            current.trailing.clear()
            if current.parts[-1]:
                current.parts.append([])
        elif kind == "num":
            if current.extension is not None:
                current = close(sticky)
            touching = current.words and current.words[-1][1] == match.start()
            if current.words and not current.has_number() and not touching:
                # "Канцелярия 8 (727) …": words before a number name it.
                if not current.label_explicit:
                    first, last = current.words[0][0], current.words[-1][1]
                    current.label = re.sub(r"\s+", " ", text[first:last]).lower()
                    current.label_explicit = True
                current.words.clear()
            # Letters between digits are part of the number ("27158a02"); say so later.
            current.parts[-1].extend(current.words + current.trailing)
            current.words.clear()
            current.trailing.clear()
            # Without its trailing blanks, so that a word after a blank is not "in" the number.
            current.parts[-1].append((match.start(), match.start() + len(token.rstrip())))
        elif kind == "word":
            if match.group("colon"):
                sticky = match.group("letters").lower()
                current = close(sticky, explicit=True)
            elif current.parts[-1] and current.parts[-1][-1][1] == match.start():
                current.parts[-1].append(match.span("letters"))  # "244-16-0б": in the number
            elif current.has_number():
                current.trailing.append(match.span("letters"))
            else:
                current.words.append(match.span("letters"))
        elif kind == "other" and token == "-" and not current.parts[-1]:
            current.parts[-1].append(match.span())  # "/-11": German extension-style suffix
        # "filler" (No., №), words after a number ("- приёмная") and stray punctuation: dropped.
    close(None)
    return segments


def _replace_tail(base: str, suffix: str) -> str:
    """Replace the last ``len(suffix)`` digits of ``base`` by ``suffix``, keeping its layout."""
    chars = list(base)
    pending = list(suffix)
    for index in range(len(chars) - 1, -1, -1):
        if not pending:
            break
        if chars[index].isdigit():
            chars[index] = pending.pop()
    return "".join(chars)


def _is_full_number(text: str, region: str | None) -> bool:
    """Whether a shorter number after a longer one stands alone rather than replacing its tail."""
    if text.startswith("+") or region is None or len(_digits(text)) <= 4:
        return text.startswith("+")
    metadata = PhoneMetadata.metadata_for_region(region)
    trunk = metadata.national_prefix if metadata is not None else None
    if trunk and _digits(text).startswith(trunk):
        return True
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(text, region)))
    except NumberParseException:
        return False


def _candidates(text: str, recipient_region: str | None) -> list[_Candidate]:
    candidates: list[_Candidate] = []
    base: str | None = None  # the last complete number, whose tail a short number replaces
    for segment in _segments(text):
        # A part written "-11" after "2091-0" replaces what follows the last dash (German style).
        parts = [(part.lstrip("- "), part.startswith("-")) for part in segment.parts_text(text)]
        parts = [(part, dash) for part, dash in parts if part]
        if not parts:
            continue
        if len(parts) > 1:
            (first, _), (second, dash) = parts[0], parts[1]
            if (
                not dash
                and not second.startswith("+")
                and not _has_letters(first + second)
                and len(_digits(first)) <= 6
                and len(_digits(first)) < len(_digits(second))
            ):
                # "030/2091 0", "727/2715802": area code / subscriber number.
                parts = [(f"{first}/{second}", False), *parts[2:]]
        last = len(parts) - 1
        for index, (part, dash) in enumerate(parts):
            extension = segment.extension if index == last else None
            if (
                base is not None
                and not _has_letters(part)
                and not _has_letters(base)
                and len(_digits(part)) < len(_digits(base))
                and (index > 0 or dash or not _is_full_number(part, recipient_region))
            ):
                # "…58-02/03", "…58-02, 58-03": the short number replaces the end of the one before.
                # Under a label of its own ("tel … 58-02, fax 58-03") that is likely, not certain.
                if dash and "-" in base:
                    full = base[: base.rindex("-") + 1] + _digits(part)
                else:
                    full = _replace_tail(base, _digits(part))
                note = f"completed from the number before it ({base} → {full})"
                warns = index == 0 and segment.label_explicit
                candidates.append(
                    _Candidate(full, segment.label, extension, note, warns, written=part)
                )
                continue
            written = segment.span_text(text) if last == 0 else part
            candidates.append(_Candidate(part, segment.label, extension, written=written))
            base = part
    return candidates


# --------------------------------------------------------------------------- reading a candidate


@dataclass(frozen=True)
class _Reading:
    number: PhoneNumber
    e164: str
    note: str | None = None  # why this reading was tried, when that needs saying
    warn: bool = False  # the reading itself is a guess
    via_idd: bool = False  # read through an international prefix such as 00 or 011
    national: bool = False  # read as a national number of the region given


def _clean(number: PhoneNumber) -> PhoneNumber:
    return PhoneNumber(
        country_code=number.country_code,
        national_number=number.national_number,
        italian_leading_zero=number.italian_leading_zero,
        number_of_leading_zeros=number.number_of_leading_zeros,
    )


def _parse(text: str, region: str | None) -> PhoneNumber | NumberParseException:
    try:
        return phonenumbers.parse(text, region, keep_raw_input=True)
    except NumberParseException as error:
        return error


def _as_reading(
    parsed: PhoneNumber | NumberParseException,
    note: str | None = None,
    *,
    warn: bool = False,
    via_idd: bool = False,
) -> _Reading | None:
    if isinstance(parsed, NumberParseException):
        return None
    number = _clean(parsed)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    via_idd = via_idd or (
        parsed.country_code_source == phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_IDD
    )
    national = parsed.country_code_source == phonenumbers.CountryCodeSource.FROM_DEFAULT_COUNTRY
    return _Reading(number, e164, note, warn, via_idd, national)


def _idd_name(region: str) -> str | None:
    """The international prefix people in ``region`` dial, when it is a plain one."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return None
    for prefix in (metadata.preferred_international_prefix, metadata.international_prefix):
        if prefix and re.fullmatch(r"[\d~]+", prefix):
            return str(prefix)
    return None


def _readings(
    text: str, recipient: str | None, sender: str | None
) -> tuple[list[_Reading], PhoneNumber | NumberParseException | None]:
    """Every plausible reading of ``text``, most likely first, and the parse to explain failure."""
    if text.startswith("+"):
        parsed = _parse(text, None)
        reading = _as_reading(parsed)
        return ([reading] if reading else []), parsed

    readings: list[_Reading] = []
    primary: PhoneNumber | NumberParseException | None = None
    if recipient is not None:
        primary = _parse(text, recipient)
        reading = _as_reading(primary)
        if reading:
            readings.append(reading)
    if sender is not None and sender != recipient:
        parsed = _parse(text, sender)
        from_idd = (
            isinstance(parsed, PhoneNumber)
            and parsed.country_code_source == phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_IDD
        )
        if recipient is None:
            primary = parsed
            note = (
                None
                if from_idd
                else (
                    f"read as a number in {sender} (the sender's country) because the recipient's "
                    "country is not given"
                )
            )
            reading = _as_reading(parsed, note, warn=not from_idd)
            if reading:
                readings.append(reading)
        elif from_idd:
            reading = _as_reading(parsed)
            if reading:
                readings.append(reading)

    fallback = _FALLBACK_IDD.match(text)
    if fallback and (sender is None or not any(_is_valid(r) for r in readings)):
        prefix = re.sub(r"\s", "", fallback.group())
        rest = "+" + text[fallback.end() :]
        if sender is None:
            note = f"read the leading {prefix} as an international prefix"
        else:
            usual = _idd_name(sender)
            note = f"read the leading {prefix} as an international prefix, though callers in " + (
                f"{sender} dial {usual}" if usual else f"{sender} use another one"
            )
        parsed = _parse(rest, None)
        reading = _as_reading(parsed, note, via_idd=True)
        if reading and _is_valid(reading):
            readings.append(reading)
    if primary is None:
        primary = _parse(text, None)
    return readings, primary


def _is_valid(reading: _Reading) -> bool:
    return bool(phonenumbers.is_valid_number(reading.number))


def _region_name(number: PhoneNumber, recipient: str | None) -> str | None:
    """The region whose rules apply to an invalid number: the recipient's if the code fits."""
    if recipient is not None and phonenumbers.country_code_for_region(recipient) == (
        number.country_code
    ):
        return recipient
    region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    return None if region == phonenumbers.UNKNOWN_REGION else str(region)


def _area_form(region: str, parsed: PhoneNumber) -> str:
    """How to write a local number with its area code, naming no city's code (it may be any)."""
    code = phonenumbers.country_code_for_region(region)
    return f"+{code} <city code> {phonenumbers.national_significant_number(parsed)}"


def area_code_from(missing: NumberReading, others: Sequence[NumberReading]) -> str | None:
    """A sentence for a number without its area code from the same recipient's other number.

    Only a valid number of the same country with a geographic area code counts (the office's
    phone beside its fax, most often); it says which code, and where that is.
    """
    form = _AREA_FORM.search(missing.reasons[-1]) if missing.reasons else None
    if missing.e164 is not None or form is None:
        return None
    country, subscriber = int(form[1]), form[2]
    for other in others:
        if not other.e164 or not other.valid:
            continue
        parsed = phonenumbers.parse(other.e164)
        length = phonenumbers.length_of_geographical_area_code(parsed)
        if length == 0 or parsed.country_code != country:
            continue
        area = phonenumbers.national_significant_number(parsed)[:length]
        place = f" ({other.location})" if other.location else ""
        shown = other.international or other.e164
        return (
            f"the recipient's other number, {shown}, has the area code {area}{place}: if this "
            f"one is in the same city, it is +{parsed.country_code} {area} {subscriber}"
        )
    return None


def _looks_local(number: PhoneNumber, region: str, national_form: bool, text: str) -> bool:
    """Whether an invalid number is plausibly a local subscriber number missing its area code."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return False
    length = len(phonenumbers.national_significant_number(number))
    local_lengths: set[int] = set()
    for desc in (metadata.general_desc, metadata.fixed_line):
        if desc is not None:
            local_lengths.update(desc.possible_length_local_only or ())
    if length in local_lengths:
        return True
    if not national_form or length < 4:
        return False
    # Written without the trunk prefix and shorter than a full fixed-line number.
    trunk = metadata.national_prefix
    if trunk and _digits(text).startswith(trunk):
        return False
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.FIXED_LINE)
    full = len(phonenumbers.national_significant_number(example)) if example else 0
    return length < full


def _why_invalid(
    text: str, parsed: PhoneNumber | NumberParseException | None, recipient: str | None
) -> str:
    if parsed is None or isinstance(parsed, NumberParseException):
        error_type = parsed.error_type if parsed is not None else None
        if error_type == NumberParseException.INVALID_COUNTRY_CODE:
            if text.startswith("+"):
                return "does not start with a known country code"
            return (
                "has no country code, and the recipient's country is not given: write it as "
                "+<country code> …"
            )
        if error_type in (
            NumberParseException.TOO_SHORT_NSN,
            NumberParseException.TOO_SHORT_AFTER_IDD,
        ):
            return "is too short to be a phone number"
        if error_type == NumberParseException.TOO_LONG:
            return "is too long to be a phone number"
        return "is not a phone number"

    region = _region_name(parsed, recipient)
    code = parsed.country_code
    if region is None:
        return f"+{code} is not a country code"
    national_form = (
        parsed.country_code_source == phonenumbers.CountryCodeSource.FROM_DEFAULT_COUNTRY
    )
    if _looks_local(parsed, region, national_form, text):
        return f"{_NO_AREA}: write it with the city code, as {_area_form(region, parsed)}"
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    digits = len(phonenumbers.national_significant_number(parsed))
    usual = _usual_lengths(region)
    expected = ""
    if usual:
        low, high = min(usual), max(usual)
        expected = f"; expected {low}" if low == high else f"; expected {low} to {high}"
    counted = f"{digits} digits after +{code}{expected}"
    if reason == ValidationResult.TOO_SHORT or (usual and digits < min(usual)):
        return f"is too short for a {region} number ({counted})"
    if reason == ValidationResult.TOO_LONG or (usual and digits > max(usual)):
        hint = ""
        if " " in text.strip() and usual and digits >= min(usual) + 4:
            hint = "; if it holds two numbers, separate them with a comma"
        return f"is too long for a {region} number ({counted}){hint}"
    if reason == ValidationResult.INVALID_LENGTH:
        return f"has the wrong number of digits for a {region} number ({counted})"
    return f"is not a valid {region} number: no such area code or number range"


def _usual_lengths(region: str) -> set[int]:
    """Lengths of the region's fixed-line and mobile numbers (after the country code)."""
    metadata = PhoneMetadata.metadata_for_region(region)
    lengths: set[int] = set()
    if metadata is not None:
        for desc in (metadata.fixed_line, metadata.mobile):
            if desc is not None:
                lengths.update(n for n in desc.possible_length or () if n > 0)
    return lengths


_ROUNDED = re.compile(r"[+\-]?\d[\d.,\s]*[eE]\+?\d+")


def rounded_by_spreadsheet(text: str) -> str | None:
    """What is wrong with ``7.71727E+10`` (German ``7,71727E+10``): a spreadsheet rounded it."""
    text = text.strip()
    if not _ROUNDED.fullmatch(text):
        return None
    return (
        f"'{text}' is a number a spreadsheet rounded: its last digits are lost "
        "(format the column as text and type the number again)"
    )


def _letters_reason(text: str) -> str:
    words = list(dict.fromkeys(re.findall(rf"{_LETTER}+", text)))
    reason = f"has letters in it ({', '.join(words)[:40]})"
    if set("".join(words)) <= set("oOоО"):
        reason += ": a letter O instead of a zero?"
    return reason


def _judge(
    candidate: _Candidate,
    *,
    kind: Kind,
    recipient: str | None,
    sender: str | None,
    allow_types: frozenset[str],
) -> NumberReading:
    text = candidate.text
    notes: list[tuple[Verdict, str]] = []
    if candidate.note:
        notes.append((Verdict.WARNING if candidate.note_warns else Verdict.OK, candidate.note))

    def invalid(reason: str, possible: bool = False) -> NumberReading:
        return NumberReading(
            raw=text,
            label=candidate.label,
            extension=candidate.extension,
            verdict=Verdict.INVALID,
            reasons=(*(note for _, note in notes), reason),
            possible=possible,
        )

    if _has_letters(text):
        return invalid(_letters_reason(text))
    if not _digits(text):
        return invalid("has no digits")

    readings, primary = _readings(text, recipient, sender)
    valid: list[_Reading] = []
    for reading in readings:
        if _is_valid(reading) and all(reading.e164 != seen.e164 for seen in valid):
            valid.append(reading)
    if not valid:
        possible = isinstance(primary, PhoneNumber) and bool(
            phonenumbers.is_possible_number(primary)
        )
        return invalid(_why_invalid(text, primary, recipient), possible)

    chosen = _choose(valid, recipient)
    number = chosen.number
    region = phonenumbers.region_code_for_number(number)
    alternatives: tuple[str, ...] = ()
    if len(valid) > 1:
        alternatives = (chosen.e164, *(r.e164 for r in valid if r is not chosen))
        readings_text = " or ".join(alternatives)
        notes.append(
            (
                Verdict.WARNING,
                f"ambiguous: it reads as {readings_text} depending on the country it was written "
                "in; write it with + and the country code",
            )
        )
    elif chosen.note:
        notes.append((Verdict.WARNING if chosen.warn else Verdict.OK, chosen.note))

    extension = candidate.extension
    if extension is None and isinstance(primary, PhoneNumber) and primary.extension:
        extension = str(primary.extension)  # phonenumbers' own forms, such as ";ext=12"

    type_name = _TYPE_NAMES.get(phonenumbers.number_type(number))
    notes.extend(_type_notes(type_name, number, kind, sender, allow_types))
    if recipient is not None and region != recipient and type_name in _GEOGRAPHIC:
        notes.append(
            (Verdict.WARNING, f"a number in {region}, but the recipient is in {recipient}")
        )
    if extension and kind == "fax":
        notes.append(
            (
                Verdict.WARNING,
                f"a fax number with an extension ({extension}): a fax machine cannot dial it; "
                "ask for a direct fax line",
            )
        )
    trunk = _missing_trunk_prefix(text, region) if chosen.national and region else None
    if trunk:
        notes.append(
            (
                Verdict.WARNING,
                f"written without its leading {trunk} or a country code: check that the area "
                "code is there",
            )
        )
    notes.extend(_label_notes(candidate.label, kind))

    verdict = max((v for v, _ in notes), key=_SEVERITY.__getitem__, default=Verdict.OK)
    # Imported here: the geocoding and time-zone tables take most of a second to import.
    from phonenumbers import timezone

    zones = tuple(z for z in timezone.time_zones_for_number(number) if z != "Etc/Unknown")
    return NumberReading(
        raw=text,
        label=candidate.label,
        e164=chosen.e164,
        international=phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
        national=phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
        extension=extension,
        valid=True,
        possible=True,
        number_type=type_name,
        region=region,
        location=place(number),
        time_zones=zones,
        dial_string=(
            phonenumbers.format_out_of_country_calling_number(number, sender)
            if sender is not None
            else chosen.e164
        ),
        verdict=verdict,
        reasons=tuple(note for _, note in notes),
        alternatives=alternatives,
    )


def _missing_trunk_prefix(text: str, region: str) -> str | None:
    """The trunk prefix a national number lacks, in a region whose numbers vary in length.

    In such regions (DE, AT, GB) a local number missing its area code can still read as a valid
    number with some other area code; a number written with its trunk prefix cannot be local.
    """
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or not metadata.national_prefix or metadata.fixed_line is None:
        return None
    prefix = str(metadata.national_prefix)
    varying = len(set(metadata.fixed_line.possible_length or ())) > 1
    return prefix if varying and not _digits(text).startswith(prefix) else None


def _choose(valid: list[_Reading], recipient: str | None) -> _Reading:
    """The most likely of several valid readings.

    A reading in the recipient's country wins; among those, one written with an international
    prefix followed by the recipient's own country code ("8 10 49 30 …" for a German recipient)
    beats a national reading that only happens to be valid.
    """
    home = [r for r in valid if phonenumbers.region_code_for_number(r.number) == recipient]
    return next((r for r in home if r.via_idd), home[0] if home else valid[0])


def _type_notes(
    type_name: str | None,
    number: PhoneNumber,
    kind: Kind,
    sender: str | None,
    allow_types: frozenset[str],
) -> list[tuple[Verdict, str]]:
    if type_name is None or type_name in allow_types:
        return []
    if type_name in _COSTLY:
        return [(Verdict.REFUSED, _COSTLY[type_name])]
    if type_name in _UNREACHABLE:
        return [(Verdict.REFUSED, _UNREACHABLE[type_name])]
    if type_name == "mobile" and kind == "fax":
        return [(Verdict.WARNING, "a mobile number, rarely a fax line")]
    if type_name == "personal_number":
        return [(Verdict.WARNING, "a personal number that forwards calls: it may cost more")]
    if type_name == "toll_free":
        home = phonenumbers.region_code_for_number(number)
        if sender is None:
            return [(Verdict.WARNING, f"toll-free in {home}: often unreachable from abroad")]
        if phonenumbers.country_code_for_region(sender) != number.country_code:
            return [(Verdict.WARNING, f"toll-free in {home}: often unreachable from {sender}")]
    return []


def _label_notes(label: str | None, kind: Kind) -> list[tuple[Verdict, str]]:
    if kind == "fax" and label in ("tel", "mobile"):
        return [(Verdict.WARNING, f"marked '{label}' in the field: it may be a voice line")]
    if kind == "phone" and label == "fax":
        return [(Verdict.WARNING, "marked 'fax' in the field: it may not answer a voice call")]
    return []


# --------------------------------------------------------------------------- public functions


def _check_region(code: str | None, what: str) -> str | None:
    if code is None:
        return None
    normalized = code.strip().upper()
    if normalized not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{what} {code!r} is not a known ISO 3166 alpha-2 country code")
    return normalized


def _check_allow(allow_types: Iterable[str]) -> frozenset[str]:
    allowed = frozenset(allow_types)
    unknown = allowed - NUMBER_TYPES
    if unknown:
        raise ValueError(f"unknown number types: {', '.join(sorted(unknown))}")
    return allowed


def read_numbers(
    raw: str,
    *,
    kind: Kind,
    recipient_region: str | None,
    sender_region: str | None,
    allow_types: frozenset[str] = frozenset(),
) -> tuple[NumberReading, ...]:
    """Split a field into its numbers and judge each; a blank field gives ``()``.

    ``recipient_region`` reads national forms (``8 (727) …`` for KZ), ``sender_region`` the
    international prefix its people write (``011`` for US). ``allow_types`` names number types
    (see :data:`NUMBER_TYPES`) the recipient explicitly uses, such as ``"premium_rate"``.
    Raises ValueError for a region or type name that does not exist.
    """
    recipient = _check_region(recipient_region, "recipient region")
    sender = _check_region(sender_region, "sender region")
    allowed = _check_allow(allow_types)
    text = _normalize(raw)
    if _EMPTY_FIELD.match(text):
        return ()
    rounded = rounded_by_spreadsheet(text)
    if rounded:  # 7.71727E+10: a spreadsheet's rounding, its digits lost (not letters)
        return (
            NumberReading(
                raw=text, verdict=Verdict.INVALID, reasons=(rounded,), written=raw.strip()
            ),
        )
    candidates = _candidates(text, recipient)
    readings = [
        _judge(c, kind=kind, recipient=recipient, sender=sender, allow_types=allowed)
        for c in candidates
    ]
    if len(readings) == 1:  # the field is the number: shown exactly, not as normalised
        return (replace(readings[0], written=raw.strip()),)
    return tuple(
        replace(reading, written=candidate.written or reading.raw)
        for reading, candidate in zip(readings, candidates, strict=True)
    )


def read_number(
    raw: str,
    *,
    kind: Kind,
    recipient_region: str | None,
    sender_region: str | None,
    allow_types: frozenset[str] = frozenset(),
) -> NumberReading:
    """Read a text that should hold exactly one number; anything else is an ``invalid`` reading."""
    readings = read_numbers(
        raw,
        kind=kind,
        recipient_region=recipient_region,
        sender_region=sender_region,
        allow_types=allow_types,
    )
    if len(readings) == 1:
        return readings[0]
    if not readings:
        return NumberReading(
            raw=raw.strip(), written=raw.strip(), verdict=Verdict.INVALID, reasons=("is empty",)
        )
    return NumberReading(
        raw=raw.strip(),
        written=raw.strip(),
        verdict=Verdict.INVALID,
        reasons=(f"holds {len(readings)} numbers; give one",),
        alternatives=tuple(r.e164 for r in readings if r.e164),
    )


class NumberOwners:
    """Which recipients list each number, gathered one recipient at a time.

    Keeps a count and the first few ids per number, so a campaign that sends 10,000 letters to
    one court number costs a few bytes here, and its reasons stay short.
    """

    _SHOWN = 3

    def __init__(self) -> None:
        self._owners: dict[str, tuple[int, tuple[str, ...]]] = {}

    def add(self, recipient_id: str, reading: NumberReading) -> None:
        """Note that ``recipient_id`` lists ``reading``'s number."""
        if reading.e164 is None:
            return
        count, ids = self._owners.get(reading.e164, (0, ()))
        if recipient_id in ids:
            return
        shown = ids if len(ids) > self._SHOWN else (*ids, recipient_id)
        self._owners[reading.e164] = (count + 1, shown)

    def flag(self, recipient_id: str, reading: NumberReading) -> NumberReading:
        """The reading, with a warning when other recipients list the same number."""
        if reading.e164 is None or reading.e164 not in self._owners:
            return reading
        count, ids = self._owners[reading.e164]
        others = [o for o in ids if o != recipient_id][: self._SHOWN]
        more = count - 1 - len(others)  # the recipient asking is one of the count
        if not others and more <= 0:
            return reading
        noun = "recipient" if len(others) + more == 1 else "recipients"
        listed = ", ".join(others) + (f" and {more:,} more" if more > 0 else "")
        verdict = Verdict.WARNING if reading.verdict == Verdict.OK else reading.verdict
        reason = f"also listed for {noun} {listed}"
        return replace(reading, verdict=verdict, reasons=(*reading.reasons, reason))


def flag_duplicates(pairs: Iterable[tuple[str, NumberReading]]) -> tuple[NumberReading, ...]:
    """Warn on numbers listed for more than one recipient; returns the readings in the same order.

    ``pairs`` are (recipient id, reading) for a whole campaign. A reading whose E.164 form also
    belongs to another recipient gains the reason "also listed for recipient X" and, if it was
    ``ok``, the verdict ``warning``.
    """
    items = list(pairs)
    owners = NumberOwners()
    for recipient_id, reading in items:
        owners.add(recipient_id, reading)
    return tuple(owners.flag(recipient_id, reading) for recipient_id, reading in items)


def best(readings: Sequence[NumberReading]) -> NumberReading | None:
    """The first ``ok`` reading, else the first ``warning`` one, else None."""
    for verdict in (Verdict.OK, Verdict.WARNING):
        for reading in readings:
            if reading.verdict == verdict:
                return reading
    return None


def is_valid_region(code: str) -> bool:
    """Whether ``code`` is a two-letter country code phonenumbers knows (any letter case)."""
    return code.strip().upper() in phonenumbers.SUPPORTED_REGIONS


def suggest_region(code: str) -> str | None:
    """The country code probably meant by a wrong one (``UK`` → ``GB``), or None."""
    return _REGION_MISTAKES.get(code.strip().upper())
