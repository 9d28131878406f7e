"""``faxbatch check``: every number of a campaign judged, and the volunteers' sheet written.

Volunteers phone offices before a batch goes out. :func:`check_campaign` judges every fax and phone
number of every recipient the way ``build`` does (duplicates, the verification sheet, sending
windows included) without drawing a page, and writes the volunteer sheet, ``numbers.csv``,
``numbers.xlsx`` and ``numbers.html`` (see :mod:`faxbatch.numbers.sheet`), into the output folder
beside a built batch, never replacing it. ``build`` writes the same sheet into every batch.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from faxbatch.build.plan import RecipientPlan, campaign_warnings, plan_recipients
from faxbatch.build.staging import write_beside_batch
from faxbatch.campaign.model import Campaign
from faxbatch.clock import source_date_epoch
from faxbatch.errors import ExitCode
from faxbatch.numbers.caller import Caller
from faxbatch.numbers.reading import NumberReading
from faxbatch.numbers.sheet import NumberRow, sheet_files
from faxbatch.numbers.verification import VerificationSheet, load_verification, unmatched

__all__ = [
    "CheckResult",
    "check_campaign",
    "current_moment",
    "number_rows",
    "sheet_files_of",
    "table_lines",
]


@dataclass
class CheckResult:
    """What ``check`` found: a row per number, the sheet's warnings, the files written."""

    rows: list[NumberRow]
    warnings: tuple[str, ...] = ()
    files: list[Path] = field(default_factory=list)

    @property
    def unusable(self) -> list[NumberRow]:
        """Rows whose number may not be dialled (a missing fax number counts)."""
        return [row for row in self.rows if not row.usable]

    @property
    def exit_code(self) -> ExitCode:
        """0 when every number is usable, 6 when any is not."""
        return ExitCode.REJECTED_RECIPIENTS if self.unusable else ExitCode.OK


def current_moment(now: dt.datetime | None = None, today: dt.date | None = None) -> dt.datetime:
    """The moment numbers are checked at (sending windows start, verifications age).

    ``now``, else the start of ``today`` (UTC), else ``SOURCE_DATE_EPOCH`` (so that a build can
    be repeated byte for byte; a value it cannot use is left to the clock, see
    :func:`faxbatch.clock.source_date_epoch` for the warning), else the clock's.
    """
    if now is not None:
        return now if now.tzinfo is not None else now.replace(tzinfo=dt.UTC)
    if today is not None:
        return dt.datetime.combine(today, dt.time(0), tzinfo=dt.UTC)
    epoch = source_date_epoch().moment
    if epoch is not None:
        return epoch
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def number_rows(plans: Sequence[RecipientPlan]) -> list[NumberRow]:
    """A row per number of every recipient, fax numbers first; a missing fax is a row too."""
    rows: list[NumberRow] = []
    for plan in plans:
        if not plan.fax_readings:
            rows.append(NumberRow.missing(plan.recipient))
        for reading in plan.fax_readings:
            rows.append(_row(plan, reading, "fax"))
        for reading in plan.phone_readings:
            rows.append(_row(plan, reading, "phone"))
    return rows


def _row(plan: RecipientPlan, reading: NumberReading, channel: str) -> NumberRow:
    found = plan.window_of(reading) if reading.usable else None
    return NumberRow(
        recipient=plan.recipient,
        channel=channel,
        reading=reading,
        in_use=channel == "fax" and reading is plan.fax,
        window=found.window if found else None,
        time_zones=found.time_zones if found else reading.time_zones,
        verification=plan.verification_of(reading),
    )


def sheet_files_of(
    campaign: Campaign, plans: Sequence[RecipientPlan], now: dt.datetime
) -> dict[str, bytes]:
    """The volunteer sheet's files for planned recipients (``build`` writes them too)."""
    return sheet_files(campaign, number_rows(plans), now)


def check_campaign(
    campaign: Campaign,
    *,
    out: Path | None = None,
    sheet: VerificationSheet | None = None,
    now: dt.datetime | None = None,
    caller: Caller | None = None,
) -> CheckResult:
    """Judge every number of the campaign; write the volunteer sheet into ``out`` if given.

    ``caller`` (``--caller-tz``, ``--caller-country``) adds the windows in the caller's zone and
    what the caller's country dials to the printed sheet.

    ``sheet`` defaults to the ``verification.csv`` beside the campaign, ``now`` to
    :func:`current_moment`. Raises :class:`~faxbatch.errors.InputUnreadableError` for an
    unreadable verification sheet and :class:`~faxbatch.errors.OutputNotWritableError` when the
    folder cannot take the files.
    """
    sheet = sheet if sheet is not None else load_verification(campaign)
    moment = current_moment(now)
    plans = plan_recipients(campaign, sheet=sheet, now=moment)
    rows = number_rows(plans)
    numbers = {row.e164: f"the {row.channel} of {row.recipient_id}" for row in reversed(rows)}
    stray = unmatched(sheet, {number: whose for number, whose in numbers.items() if number})
    warnings = (*campaign_warnings(campaign), *sheet.warnings, *stray)
    result = CheckResult(rows=rows, warnings=warnings)
    if out is not None:
        result.files = write_beside_batch(out, sheet_files(campaign, rows, moment, caller))
    return result


# ------------------------------------------------------------------------ the terminal table

_TABLE_COLUMNS = ("recipient", "channel", "raw", "E.164", "verdict", "reason")
_MAX_WIDTHS = (28, 7, 26, 16, 8)  # the reason takes the rest of the line


def _width(text: str) -> int:
    """Columns a text takes in a terminal (East Asian wide letters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns (with an ellipsis) and padded."""
    if _width(text) > width:
        while _width(text) > width - 1:
            text = text[:-1]
        text += "…"
    return text + " " * (width - _width(text))


def table_lines(rows: Sequence[NumberRow]) -> list[str]:
    """The numbers as a plain-text table for the terminal, one line per number."""
    cells = [
        (
            row.recipient_id,
            row.channel + ("*" if row.in_use else ""),
            row.raw or "—",
            row.e164 or "—",
            row.verdict or "missing",
            row.reason_text or ("verified " + row.verified_on if row.verified_on else ""),
        )
        for row in rows
    ]
    widths = [
        min(limit, max([_width(head)] + [_width(c[i]) for c in cells]))
        for i, (head, limit) in enumerate(zip(_TABLE_COLUMNS, _MAX_WIDTHS, strict=False))
    ]
    lines = []
    for line in [_TABLE_COLUMNS, *cells]:
        fitted = [_fit(text, width) for text, width in zip(line, widths, strict=False)]
        lines.append("  ".join([*fitted, line[-1]]).rstrip())
    return lines
