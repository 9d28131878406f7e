"""``faxbatch check``: every number of a campaign judged, and the volunteers' sheet written.

Volunteers phone offices before a batch goes out. :func:`check_campaign` judges every fax and phone
number of every recipient the way ``build`` does (duplicates, the verification sheet, sending
windows included) without drawing a page, and writes the volunteer sheet, ``numbers.csv``,
``numbers.xlsx`` and ``numbers.html`` (see :mod:`faxbatch.numbers.sheet`), into the output folder
beside a built batch, never replacing it. ``build`` writes the same sheet into every batch.

It streams as ``build`` does, in two passes: the first reads every recipient's numbers and spills
the plans to a temporary file, keeping only which recipients share a number; the second judges
each plan against the rest and writes its rows into the sheet. The result keeps the first
:data:`ROWS_KEPT` rows (and as many of the unusable ones) for the terminal; the sheet has them all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import pickle
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from faxbatch.build.plan import NumberChecks, RecipientPlan, campaign_warnings, read_recipient
from faxbatch.build.staging import write_beside_batch
from faxbatch.campaign.model import Campaign
from faxbatch.clock import source_date_epoch
from faxbatch.errors import ExitCode
from faxbatch.numbers.caller import Caller
from faxbatch.numbers.reading import NumberOwners, NumberReading
from faxbatch.numbers.sheet import NumberRow, SheetWriter, sheet_files
from faxbatch.numbers.verification import VerificationSheet, load_verification, unmatched

__all__ = [
    "ROWS_KEPT",
    "CheckResult",
    "check_campaign",
    "current_moment",
    "number_rows",
    "plan_row_count",
    "plan_rows",
    "sheet_files_of",
    "table_lines",
]


#: the rows a result keeps (and as many unusable ones besides): the sheet's files have them all
ROWS_KEPT = 5_000


@dataclass
class CheckResult:
    """What ``check`` found: a row per number, the sheet's warnings, the files written.

    ``rows`` is every row of a campaign of up to :data:`ROWS_KEPT` numbers, else the first of
    them; ``numbers`` and ``unusable_count`` count them all.
    """

    rows: list[NumberRow] = field(default_factory=list)
    warnings: tuple[str, ...] = ()
    files: list[Path] = field(default_factory=list)
    numbers: int = 0
    unusable_count: int = 0
    unusable_rows: list[NumberRow] = field(default_factory=list)
    limit: int = ROWS_KEPT

    @property
    def unusable(self) -> list[NumberRow]:
        """Rows whose number may not be dialled (a missing fax number counts); see ``rows``."""
        return self.unusable_rows

    @property
    def complete(self) -> bool:
        """Whether ``rows`` holds every number."""
        return len(self.rows) == self.numbers

    @property
    def exit_code(self) -> ExitCode:
        """0 when every number is usable, 6 when any is not."""
        return ExitCode.REJECTED_RECIPIENTS if self.unusable_count else ExitCode.OK

    def keep(self, rows: Sequence[NumberRow]) -> None:
        """Count one recipient's rows; keep them while there is room."""
        self.numbers += len(rows)
        for row in rows:
            if len(self.rows) < self.limit:
                self.rows.append(row)
            if not row.usable:
                self.unusable_count += 1
                if len(self.unusable_rows) < self.limit:
                    self.unusable_rows.append(row)


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


def number_rows(plans: Iterable[RecipientPlan]) -> list[NumberRow]:
    """A row per number of every recipient, fax numbers first; a missing fax is a row too."""
    return [row for plan in plans for row in plan_rows(plan)]


def plan_rows(plan: RecipientPlan) -> list[NumberRow]:
    """The rows of one recipient: its fax numbers (or the missing one), then its phones."""
    rows = [] if plan.fax_readings else [NumberRow.missing(plan.recipient)]
    rows += [_row(plan, reading, "fax") for reading in plan.fax_readings]
    rows += [_row(plan, reading, "phone") for reading in plan.phone_readings]
    return rows


def plan_row_count(plan: RecipientPlan) -> int:
    """How many rows :func:`plan_rows` gives, without making them."""
    return max(len(plan.fax_readings), 1) + len(plan.phone_readings)


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
    result = CheckResult()
    numbers: dict[str, str] = {}  # each number of the campaign, whose it is first
    with tempfile.TemporaryDirectory(prefix="faxbatch-check-") as tmp:
        folder = Path(tmp)
        writer = SheetWriter(folder, campaign, moment, caller) if out is not None else None
        with writer or contextlib.nullcontext():
            for plan in _planned(campaign, sheet, moment, folder / "plans.spill"):
                rows = plan_rows(plan)
                result.keep(rows)
                for row in rows:
                    if row.e164:
                        numbers.setdefault(row.e164, f"the {row.channel} of {row.recipient_id}")
                if writer is not None:
                    writer.add(rows)
        stray = unmatched(sheet, numbers)
        result.warnings = (*campaign_warnings(campaign), *sheet.warnings, *stray)
        if writer is not None and out is not None:
            files = {name: folder / name for name in writer.names}
            result.files = write_beside_batch(out, files)
    return result


def _planned(
    campaign: Campaign, sheet: VerificationSheet, now: dt.datetime, spill: Path
) -> Iterator[RecipientPlan]:
    """Every recipient's plan, judged against the whole campaign, in two streaming passes."""
    from faxbatch.campaign.loader import iter_recipients

    owners = NumberOwners()
    count = 0
    with spill.open("wb") as out:
        for recipient in iter_recipients(campaign):
            plan = read_recipient(campaign, recipient)
            for reading in plan.fax_readings:
                owners.add(plan.recipient.id, reading)
            pickle.dump(plan, out, protocol=pickle.HIGHEST_PROTOCOL)
            count += 1
    checks = NumberChecks(campaign, owners, sheet, now)
    with spill.open("rb") as spilled:
        for _ in range(count):
            plan = pickle.load(spilled)  # our own file, written moments ago by this run
            assert isinstance(plan, RecipientPlan)
            yield checks.finish(plan)


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
