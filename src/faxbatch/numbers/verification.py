"""The volunteers' verification sheet: what they found when they called each number.

``verification.csv`` lives beside the campaign file. Each row records one call::

    number,result,date,by,note
    +7 727 271 58 02,verified,2012-05-08,Ann,fax tone after two rings
    8 (7172) 74-55-24,wrong,2012-05-09,Boris,now a private flat

``result`` is ``verified``, ``wrong``, ``no-fax-tone`` or ``no-answer``; ``date`` is YYYY-MM-DD
(DD.MM.YYYY also reads). Rows are matched to the campaign's numbers by their E.164 form, so the
number may be written any way the campaign's numbers may. The latest row for a number counts (by
date; the lower row on the same date). A malformed row is reported with its line and skipped; the
other rows are used. Extra columns are ignored, so the volunteer sheet ``numbers.csv`` that
``faxbatch check`` writes can be filled in and saved as ``verification.csv``.

:func:`judge` applies the sheet to one reading: a number found wrong (or, for a fax, without a fax
tone) is refused; one that did not answer, or whose "verified" is older than the campaign's
``verification_max_age_days``, becomes a warning.
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from faxbatch.campaign.csvread import decoded_lines, read_rows
from faxbatch.campaign.hints import close_word
from faxbatch.campaign.inputs import VERIFICATION, Origin, folders_of, open_input
from faxbatch.campaign.loader import iter_recipients
from faxbatch.campaign.model import Campaign
from faxbatch.errors import InputUnreadableError
from faxbatch.numbers.reading import (
    Kind,
    NumberReading,
    Verdict,
    read_number,
    rounded_by_spreadsheet,
)

__all__ = [
    "COLUMNS",
    "FILE_NAME",
    "RESULTS",
    "Finding",
    "Verification",
    "VerificationSheet",
    "judge",
    "load_verification",
    "parse_verification",
    "sheet_path",
    "unmatched",
    "unwrap_cell",
]

FILE_NAME = "verification.csv"
#: the sheet's columns; ``number``, ``result`` and ``date`` are required
COLUMNS = ("number", "result", "date", "by", "note")
_REQUIRED = ("number", "result", "date")
#: what a volunteer may find when calling a number
RESULTS = ("verified", "wrong", "no-fax-tone", "no-answer")
#: statuses a number may have: the results, and ``stale`` for an old "verified"
STATUSES = (*RESULTS, "stale")

_DAY_FIRST = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_ISO_WITH_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T]\d{1,2}:\d{2}(:\d{2})?$")
# what spreadsheets and our own sheet put around a number so that it stays text
_WRAPPED = re.compile(r'^="(.*)"$', re.DOTALL)


@dataclass(frozen=True)
class Finding:
    """One row of the sheet: what a volunteer found for a number on a day."""

    number: str
    e164: str
    result: str
    date: dt.date
    by: str = ""
    note: str = ""
    line: int = 0

    def who_when(self) -> str:
        """``by Ann on 2012-05-08``."""
        by = f" by {self.by}" if self.by else ""
        return f"{by} on {self.date.isoformat()}".strip()


@dataclass(frozen=True)
class VerificationSheet:
    """A read ``verification.csv``: the usable findings, and a warning per malformed row."""

    source: Path | None = None
    findings: tuple[Finding, ...] = ()
    warnings: tuple[str, ...] = ()
    _latest: dict[str, Finding] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for finding in self.findings:
            known = self._latest.get(finding.e164)
            if known is None or finding.date >= known.date:
                self._latest[finding.e164] = finding

    def latest(self, e164: str | None) -> Finding | None:
        """The finding that counts for a number: the latest by date, then by line."""
        return self._latest.get(e164) if e164 else None


@dataclass(frozen=True)
class Verification:
    """What the sheet says about one number, as of a given day."""

    status: str  # one of STATUSES
    finding: Finding
    age_days: int


def sheet_path(campaign: Campaign) -> Path:
    """Where a campaign's verification sheet is: ``verification.csv`` beside the campaign file."""
    return campaign.source.parent / FILE_NAME


def load_verification(campaign: Campaign, path: Path | None = None) -> VerificationSheet:
    """Read the campaign's verification sheet; no file means no findings.

    The sheet is read like every file a campaign names (:mod:`faxbatch.campaign.inputs`): from
    inside the folders the campaign may read from, a regular file under the size limit. Raises
    :class:`~faxbatch.errors.CampaignError` for a sheet (or a symlink) outside those folders and
    :class:`InputUnreadableError` when the file exists but cannot be read, is not UTF-8, has a quote
    that is not closed or lacks the required columns. Malformed rows are not errors: see
    ``warnings``.
    """
    path = path or sheet_path(campaign)
    if not path.is_symlink() and not path.exists():
        return VerificationSheet()
    origin = Origin(str(campaign.source), None, f"{FILE_NAME} beside it")
    with open_input(path, VERIFICATION, origin, folders=folders_of(campaign)) as stream:

        def not_utf8(line: int, reason: str) -> InputUnreadableError:
            return InputUnreadableError(
                f"{path}:{line}: the verification sheet is not UTF-8 text ({reason})",
                hint="save it from the spreadsheet as 'CSV UTF-8'",
            )

        lines = decoded_lines(stream, source=str(path), not_text=not_utf8)
        countries = dict.fromkeys(r.country for r in iter_recipients(campaign) if r.country)
        regions = [campaign.default_country, *countries]
        return _parse(lines, source=path, regions=regions, sender_region=campaign.sender.country)


def unwrap_cell(text: str) -> str:
    """A cell's text without what keeps spreadsheets from reading it as a number.

    ``="+77272715802"`` (our own sheet's form), a leading apostrophe or tab, spaces around.
    """
    text = text.strip()
    match = _WRAPPED.match(text)
    if match:  # exactly the text (an apostrophe it starts with is its own)
        return match[1].replace('""', '"').strip()
    return text.lstrip("'").strip()


def _date(text: str) -> dt.date | None:
    """YYYY-MM-DD (with or without a time), or DD.MM.YYYY; None for anything else."""
    iso = _ISO_WITH_TIME.match(text)
    if iso:
        text = iso[1]
    day_first = _DAY_FIRST.match(text)
    try:
        if day_first:
            return dt.date(int(day_first[3]), int(day_first[2]), int(day_first[1]))
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _result(text: str) -> str | None:
    word = re.sub(r"[\s_]+", "-", text.strip().lower())
    return word if word in RESULTS else None


def _e164(number: str, regions: Sequence[str | None], sender: str | None) -> NumberReading:
    """The reading of a sheet's number: the first region that reads it as a valid number."""
    first: NumberReading | None = None
    for region in dict.fromkeys(regions):
        reading = read_number(number, kind="fax", recipient_region=region, sender_region=sender)
        if reading.e164:
            return reading
        first = first or reading
    return first or read_number(number, kind="fax", recipient_region=None, sender_region=sender)


def parse_verification(
    text: str,
    *,
    source: Path,
    regions: Sequence[str | None] = (),
    sender_region: str | None = None,
) -> VerificationSheet:
    """Read a verification sheet's text.

    ``regions`` read numbers written in national form (the campaign's default country first),
    ``sender_region`` international prefixes such as ``00`` or ``011``.
    """
    lines = io.StringIO(text.removeprefix("\ufeff"), newline="")
    return _parse(lines, source=source, regions=regions, sender_region=sender_region)


def _parse(
    lines: Iterable[str],
    *,
    source: Path,
    regions: Sequence[str | None],
    sender_region: str | None,
) -> VerificationSheet:
    """Read a verification sheet line by line (no cell of it may hold a line break)."""
    rows: Iterator[tuple[int, list[str]]] = (
        (row.line, row.cells) for row in read_rows(lines, source=str(source))
    )
    header_line, header = next(rows, (1, []))
    columns = [unwrap_cell(cell).lower() for cell in header]
    missing = [name for name in _REQUIRED if name not in columns]
    if missing:
        hints = []
        for name in missing:
            close = close_word(name, columns)
            if close:
                hints.append(f"'{close}' should be '{name}'")
        raise InputUnreadableError(
            f"{source}:{header_line}: the verification sheet has no "
            f"{', '.join(repr(m) for m in missing)} column",
            hint="; ".join(hints) or f"its first row names the columns: {', '.join(COLUMNS)}",
        )
    index = {name: columns.index(name) for name in COLUMNS if name in columns}
    findings: list[Finding] = []
    warnings: list[str] = []
    region_list = list(regions)
    for line, row in rows:
        cells = {name: unwrap_cell(row[i]) if i < len(row) else "" for name, i in index.items()}
        if cells["number"].startswith("#"):
            continue  # a remark
        problem, finding = _finding(cells, line, regions=region_list, sender_region=sender_region)
        if problem:
            warnings.append(f"{source}:{line}: {problem}; the row is ignored")
        elif finding is not None:
            findings.append(finding)
    return VerificationSheet(source=source, findings=tuple(findings), warnings=tuple(warnings))


def _finding(
    cells: dict[str, str],
    line: int,
    *,
    regions: Sequence[str | None],
    sender_region: str | None,
) -> tuple[str | None, Finding | None]:
    """A row's finding, or what is wrong with it; (None, None) for a number not yet checked."""
    number, result_text, date_text = cells["number"], cells["result"], cells["date"]
    if not result_text and not date_text:
        return None, None  # listed, not called yet (a filled-in numbers.csv has such rows)
    if not number:
        return "no number", None
    result = _result(result_text)
    if result is None:
        close = difflib.get_close_matches(result_text.lower(), RESULTS, n=1, cutoff=0.5)
        known = f"did you mean '{close[0]}'?" if close else f"use one of {', '.join(RESULTS)}"
        what = f"'{result_text}' is not a result" if result_text else "the result is missing"
        return f"{what} ({known})", None
    if not date_text:
        return "the date is missing (write it as YYYY-MM-DD)", None
    date = _date(date_text)
    if date is None:
        return f"'{date_text}' is not a date (write it as YYYY-MM-DD)", None
    rounded = rounded_by_spreadsheet(number)
    if rounded:
        return rounded, None
    reading = _e164(number, regions, sender_region)
    if reading.e164 is None:
        why = "; ".join(reading.reasons) or "not a phone number"
        return f"cannot read '{number}' as a number ({why})", None
    return None, Finding(
        number=number,
        e164=reading.e164,
        result=result,
        date=date,
        by=cells.get("by", ""),
        note=cells.get("note", ""),
        line=line,
    )


#: a sheet's number this many digits away from a campaign number (a typo) is named as the nearest
_NEAR_DIGITS = 2


def unmatched(sheet: VerificationSheet, numbers: Mapping[str, str]) -> list[str]:
    """A warning for each row whose number is none of the campaign's.

    ``numbers`` holds the campaign's numbers (E.164) and whose each is (``the fax of court``). A
    number one or two digits away from one of them (a digit typed wrong, missed, doubled or two
    swapped) is named as what the row may have meant.
    """
    warnings: list[str] = []
    for finding in sheet.findings:
        if finding.e164 in numbers:
            continue
        near = _nearest(finding.e164, numbers)
        meant = f"; did you mean {near}, {numbers[near]}?" if near else ""
        warnings.append(
            f"{sheet.source}:{finding.line}: '{finding.number}' ({finding.e164}) is none of the "
            f"campaign's numbers{meant} (the row counts for no recipient)"
        )
    return warnings


def _nearest(e164: str, numbers: Iterable[str]) -> str | None:
    """The campaign number fewest digits away from ``e164``, if it is close enough."""
    found: tuple[int, str] | None = None
    for number in sorted(numbers):
        distance = _digit_distance(e164.lstrip("+"), number.lstrip("+"))
        if distance <= _NEAR_DIGITS and (found is None or distance < found[0]):
            found = (distance, number)
    return found[1] if found else None


def _digit_distance(a: str, b: str) -> int:
    """Edits from one digit string to the other: a digit changed, added, dropped, or two swapped."""
    if abs(len(a) - len(b)) > _NEAR_DIGITS:
        return _NEAR_DIGITS + 1
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def judge(
    reading: NumberReading,
    *,
    kind: Kind,
    sheet: VerificationSheet,
    today: dt.date,
    max_age_days: int,
) -> tuple[NumberReading, Verification | None]:
    """A reading with what the sheet found added to its verdict and reasons."""
    finding = sheet.latest(reading.e164)
    if finding is None:
        return reading, None
    age = (today - finding.date).days
    note = f" ({finding.note})" if finding.note else ""
    usable = reading.verdict in (Verdict.OK, Verdict.WARNING)
    status = finding.result
    verdict = reading.verdict
    reason: str | None = None
    if finding.result == "wrong":
        reason = f"found wrong {finding.who_when()}{note}"
        verdict = Verdict.REFUSED if usable else verdict
    elif finding.result == "no-fax-tone" and kind == "fax":
        reason = f"no fax tone when called {finding.who_when()}{note}"
        verdict = Verdict.REFUSED if usable else verdict
    elif finding.result == "no-answer":
        reason = f"no answer when called {finding.who_when()}{note}"
    elif finding.result == "verified" and age < 0:
        reason = (
            f"verified {finding.who_when()}, a date after today ({today.isoformat()}): "
            f"check the date in {FILE_NAME}"
        )
    elif finding.result == "verified" and age > max_age_days:
        status = "stale"
        reason = (
            f"verified {finding.who_when()}, {age} days ago (more than {max_age_days}): "
            "check it again"
        )
    if reason is None:
        return reading, Verification(status, finding, age)
    if verdict == Verdict.OK:
        verdict = Verdict.WARNING
    judged = replace(reading, verdict=verdict, reasons=(*reading.reasons, reason))
    return judged, Verification(status, finding, age)
